"""genmodels: the shared model package of the Generative Models Lab.

Importing it does no work: no downloads, no model builds, no streamlit. The folders show the
architecture (README.md, Layout): ``models/`` one file per family, ``training/`` the event loop and
each family's steps, ``metrics/``, ``lessons/`` what the pages compute, ``serving/`` background
jobs, ``ui/`` the only part that imports streamlit; ``registry.py`` ties each family's pieces
together.
"""

__version__ = "0.1.0"
