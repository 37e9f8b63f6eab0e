"""Where the datasets' files come from, in plain Python (no torch, no numpy at import), so the
setup step that ``make run`` and ``make test`` run first answers in a few milliseconds:

- ``local``: the folders searched for the four IDX files of an image dataset, in order;
- ``fetch``: getting them when they are missing (a torchvision download, Debian's package, or the
  exact commands to run by hand). ``python -m genmodels fetch`` and ``scripts/setup.py`` call it.
"""
