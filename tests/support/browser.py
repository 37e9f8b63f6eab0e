"""Which Chromium the e2e and load tests drive (and ``scripts/setup.py`` makes sure exists).

In order: ``$CHROMIUM`` when it is set (then only that one: a wrong path is a mistake to report,
not a reason to quietly drive another browser); Debian's ``chromium`` package; Playwright's own
Chromium (``python -m playwright install chromium``), the newest revision in
``$PLAYWRIGHT_BROWSERS_PATH`` or ``~/.cache/ms-playwright``. Standard library only, so the setup
step can ask without importing Playwright.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

from genmodels.sources.local import system_root

DEBIAN_CHROMIUM = Path("usr/bin/chromium")  # under GENLAB_SYSTEM_ROOT (default /)
# What a browser test says when there is none (`make test` runs scripts/setup.py first, which
# installs one or stops before the tests with the same advice).
MISSING = ("No Chromium for the browser tests: run `python scripts/setup.py --for test` (as `make test` "
           "does), or `apt-get install chromium`, or `python -m playwright install chromium`, or set CHROMIUM")


def executable(path: Path | str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


def playwright_browsers_dir() -> Path:
    """Where ``playwright install`` puts browsers on Linux."""
    configured = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if configured == "0":  # inside the installed package (found without importing it)
        spec = importlib.util.find_spec("playwright")
        if spec and spec.origin:
            return Path(spec.origin).parent / "driver" / "package" / ".local-browsers"
    elif configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "ms-playwright"


def playwright_chromium() -> Path | None:
    """Playwright's own Chromium, the newest revision installed, or None."""
    def revision(path: Path) -> int:
        match = re.fullmatch(r"chromium-(\d+)", path.parts[-3])
        return int(match.group(1)) if match else -1

    found = [p for p in playwright_browsers_dir().glob("chromium-*/chrome-linux*/chrome")
             if revision(p) >= 0 and executable(p)]
    return max(found, key=revision, default=None)


def chromium_path() -> Path | None:
    """The Chromium binary the browser tests launch, or None when there is none (see the module)."""
    configured = os.environ.get("CHROMIUM")
    if configured:
        return Path(configured) if executable(configured) else None
    debian = system_root() / DEBIAN_CHROMIUM
    if executable(debian):
        return debian
    return playwright_chromium()
