"""Getting a dataset's IDX files onto this machine, or saying exactly how to.

``fetch_dataset`` tries, in order: the folders of ``local.search_dirs`` (found: nothing to do); a
download through torchvision (its own progress bar) into genlab's download cache when the mirror
answers; Debian's package through apt-get when this process may use it without a password (root, or
``sudo -n``); else it hands back the commands to run by hand. ``scripts/setup.py`` (``make run``,
``make test``) and ``python -m genmodels fetch`` both call it, and the lessons show the same text
when the data is missing.

``GENLAB_OFFLINE=1`` never downloads; ``GENLAB_OFFLINE=0`` downloads without first probing the
mirror (behind a proxy, or a local mirror); unset, a TCP probe of a few seconds decides.
Never asks for a password, and says what it installs and why before it does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from genmodels.i18n import L_, LazyText, _
from genmodels.sources.local import IDX_DATASETS, IDX_FILES, downloads_dir, locate, project_data_dir

# Where torchvision downloads each dataset from (its classes' first mirror): the online probe.
DOWNLOAD_HOSTS = {
    "fashion-mnist": ("fashion-mnist.s3-website.eu-central-1.amazonaws.com", 80),
    "mnist": ("ossci-datasets.s3.amazonaws.com", 443),
    "kmnist": ("codh.rois.ac.jp", 80),
}
PROBE_SECONDS = 3.0

Say = Callable[[str], None]


def offline_setting() -> bool | None:
    """GENLAB_OFFLINE: "1" -> True (never download), "0" -> False (download, no probe), else None."""
    value = os.environ.get("GENLAB_OFFLINE", "").strip()
    return {"1": True, "0": False}.get(value)


def online(host: str, port: int, timeout: float = PROBE_SECONDS) -> bool:
    """Whether ``host:port`` takes a TCP connection within ``timeout`` seconds (name lookup
    included: it runs in a thread, so a hanging resolver costs no more than the timeout), unless
    GENLAB_OFFLINE decides."""
    setting = offline_setting()
    if setting is not None:
        return not setting
    answered = []

    def probe():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                answered.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(answered)


def apt_prefix() -> list[str] | None:
    """How this process runs apt-get without a password prompt: ``[]`` as root, ``["sudo", "-n"]``
    when sudo needs no password, None when it cannot (or there is no apt-get)."""
    if shutil.which("apt-get") is None:
        return None
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") is None:
        return None
    try:
        check = subprocess.run(["sudo", "-n", "true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return ["sudo", "-n"] if check.returncode == 0 else None


def apt_install(packages: list[str], why: str, say: Say) -> bool:
    """Install Debian ``packages`` when apt-get may be used without a password, saying what and
    why first; when the install fails (stale package lists), update the lists once and retry.
    False when apt-get cannot be used or the install failed."""
    prefix = apt_prefix()
    if prefix is None:
        return False
    command = [*prefix, "apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    say(_("Installing {packages} ({why}): {command}", packages=" ".join(packages), why=why,
          command=" ".join(command)))

    def run(argv: list[str]) -> bool:
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        try:
            return subprocess.run(argv, stdin=subprocess.DEVNULL, env=environment).returncode == 0
        except OSError:
            return False

    if run(command):
        return True
    say(_("apt-get could not install it; updating its package lists and trying once more."))
    return run([*prefix, "apt-get", "update", "-q"]) and run(command)


def download_with_torchvision(name: str) -> None:
    """Fetch ``name``'s IDX files into the download cache with torchvision (which draws its own
    progress bar). Raises OSError when GENLAB_OFFLINE=1, and whatever torchvision raises."""
    if offline_setting():
        raise OSError("GENLAB_OFFLINE=1")
    import torchvision.datasets  # slow import; only needed here

    dataset_class = getattr(torchvision.datasets, IDX_DATASETS[name][0])
    for train in (True, False):
        dataset_class(str(downloads_dir()), train=train, download=True)


def how_to_get(name: str) -> LazyText:
    """What to run by hand when ``name`` is missing: one short block, readable in a terminal and as
    Markdown (the indented commands are a code block). It says no more about why than it knows: the
    setup step says why before it (no answer from the mirror, apt-get failed or not allowed)."""
    _class, package, title = IDX_DATASETS[name]
    files = ", ".join(f"`{stem}.gz`" for stem in IDX_FILES.values())
    folder = project_data_dir() / name
    if package:
        return L_("{title} is not on this machine. Install it with\n\n"
                  "    sudo apt-get install {package}\n\n"
                  "or, when online, `python -m genmodels fetch {name}` downloads it; or copy its four IDX "
                  "files ({files}) into `{folder}/`; the app finds them at the next page load.",
                  title=L_(title), package=package, name=name, files=files, folder=folder)
    return L_("{title} is not on this machine. When online, run\n\n"
              "    python -m genmodels fetch {name}\n\n"
              "or copy its four IDX files ({files}) into `{folder}/`; the app finds them at the next page load.",
              title=L_(title), name=name, files=files, folder=folder)


def fetch_dataset(name: str, say: Say) -> Path | None:
    """Make sure ``name``'s IDX files are on this machine (see the module's docstring for the
    order); the folder that holds them, or None after ``say``-ing the commands to run by hand."""
    found = locate(name)
    if found:
        return found[0]
    _class, package, title = IDX_DATASETS[name]
    host, port = DOWNLOAD_HOSTS[name]
    if online(host, port):
        say(_("{title} is missing: downloading it through torchvision into {folder}",
              title=_(title), folder=downloads_dir()))
        try:
            download_with_torchvision(name)
        except Exception as error:  # torchvision raises many kinds (URLError, RuntimeError, ...)
            say(_("The download failed: {error}", error=error))
        found = locate(name)
        if found:
            return found[0]
    elif offline_setting() is None:
        say(_("{title} is missing, and {host} does not answer: no download.", title=_(title), host=host))
    if package and apt_install([package], _("{title}, the images the lessons use", title=_(title)), say):
        found = locate(name)
        if found:
            return found[0]
    say(str(how_to_get(name)))
    return None
