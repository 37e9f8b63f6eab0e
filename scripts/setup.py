"""The setup step of ``make run`` and ``make test``, after the virtualenv: make sure this machine
has what they need, fetch what is missing, or say in one block what to run by hand.

    python scripts/setup.py --for run    # Fashion-MNIST (the lessons' images)
    python scripts/setup.py --for test   # and a Chromium for the browser tests, and CJK fonts

Each need is looked for first, so a second run only looks (a few milliseconds). What is missing is
fetched in the order of ``genmodels.sources.fetch``: a download when online, else Debian's package
when apt-get may be used without a password (root, or ``sudo -n``); never a password prompt, and
every install is announced with its reason before it runs. ``GENLAB_OFFLINE=1`` never downloads.

Exit status 0, or 1 with ``--for test`` when the tests cannot run (no Fashion-MNIST, no browser):
``make test`` then stops within seconds, after naming the command to run. ``make run`` always
starts; the lessons say in the page what to run for data that is missing.

Standard library and genmodels' light modules only (no torch import): run with the virtualenv's
python, from the project's root (the app's ``./data`` is the current folder's).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genmodels.i18n import N_, _  # noqa: E402
from genmodels.sources.fetch import apt_install, fetch_dataset, online  # noqa: E402
from genmodels.sources.local import IDX_DATASETS, system_root  # noqa: E402
from tests.support.browser import chromium_path, playwright_browsers_dir  # noqa: E402

DATASET = "fashion-mnist"
PLAYWRIGHT_HOST = ("cdn.playwright.dev", 443)  # where `playwright install` downloads from
CJK_FONTS = Path("usr/share/fonts/opentype/noto")  # fonts-noto-cjk's files, under the system root
BROWSER_WHY = N_("the browser the end-to-end and load tests drive")


def say(text: str) -> None:
    """One line, or a block of advice set off by blank lines."""
    print(f"\n{text}\n" if "\n" in text else text, flush=True)


def ensure_browser() -> Path | None:
    """A Chromium for the browser tests (tests.support.browser.chromium_path), installed when
    missing: Debian's package, else Playwright's own when online. None after saying what to run."""
    found = chromium_path()
    if found:
        return found
    configured = os.environ.get("CHROMIUM")
    if configured:  # the person chose this one: installing another would not be used
        say(_("CHROMIUM={path} is not an executable file: point CHROMIUM at a Chromium binary, or unset "
              "it to use Debian's or Playwright's Chromium.", path=configured))
        return None
    if apt_install(["chromium"], _(BROWSER_WHY), say) and chromium_path():
        return chromium_path()
    playwright = [sys.executable, "-m", "playwright", "install", "chromium"]
    if online(*PLAYWRIGHT_HOST):
        say(_("Installing Playwright's Chromium ({why}) into {folder}: {command}", why=_(BROWSER_WHY),
              folder=playwright_browsers_dir(), command=" ".join(playwright)))
        subprocess.run(playwright, stdin=subprocess.DEVNULL)
        if chromium_path():
            return chromium_path()
    say(_("make test needs a Chromium for its end-to-end and load tests, and none could be installed "
          "here. Run one of\n\n"
          "    sudo apt-get install chromium\n"
          "    {playwright}    (when online)\n\n"
          "or set CHROMIUM to a Chromium binary; then run make test again.", playwright=" ".join(playwright)))
    return None


def cjk_fonts_present() -> bool:
    """Whether the browser can draw Chinese: fontconfig knows a Chinese font (on the real system
    root), or fonts-noto-cjk's files are there."""
    root = system_root()
    if root == Path("/") and shutil.which("fc-list"):
        try:
            listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=20)
            if listed.stdout.strip():
                return True
        except (OSError, subprocess.TimeoutExpired):
            pass
    return any((root / CJK_FONTS).glob("*CJK*"))


def ensure_fonts() -> bool:
    """CJK fonts for the browser (the interface speaks Chinese too), installed when missing. Not
    fatal: without them Chinese shows as empty boxes in screenshots, and the tests still run."""
    if cjk_fonts_present():
        return True
    why = _("fonts the browser needs to draw the interface's Chinese")
    if apt_install(["fonts-noto-cjk"], why, say) and cjk_fonts_present():
        return True
    say(_("No Chinese fonts here, so a browser draws Chinese text as empty boxes; the tests still run. "
          "Install them with\n\n    sudo apt-get install fonts-noto-cjk"))
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch what `make run` / `make test` need, or say what to run.")
    parser.add_argument("--for", dest="target", choices=["run", "test"], default="run",
                        help="run: the lessons' data; test: also a browser and CJK fonts")
    target = parser.parse_args(argv).target
    title = _(IDX_DATASETS[DATASET][2])
    data = fetch_dataset(DATASET, say)
    if target == "run":
        if data:
            say(_("setup: {title} in {folder}", title=title, folder=data))
        return 0
    browser = ensure_browser()
    fonts = ensure_fonts()
    if not (data and browser):
        missing = [name for name, ok in ((title, data), ("Chromium", browser)) if not ok]
        say(_("make test stops here: the tests need {missing} (see above).", missing=" and ".join(missing)))
        return 1
    say(_("setup: {title} in {folder}, Chromium {browser}, CJK fonts {fonts}", title=title, folder=data,
          browser=browser, fonts=_("here") if fonts else _("missing")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
