"""The folders that may hold an image dataset's four IDX files, in the order they are tried.

1. ``$GENLAB_DATA``, then ``./data``, then genlab's download cache, each holding the files in
   ``<dir>/<name>/`` or in torchvision's ``<dir>/<Class>/raw/``;
2. for fashion-mnist, Debian's package ``dataset-fashion-mnist`` (/usr/share/datasets/fashion-mnist).

``GENLAB_SYSTEM_ROOT`` (default ``/``) says where Debian's packages put their files: the setup
step's tests point it at an empty folder to play a fresh machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from genmodels.i18n import N_

IDX_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
# The IDX datasets: name -> torchvision's class (which names its folder), the Debian package that
# ships the files (or None), and the name a person reads.
IDX_DATASETS = {
    "fashion-mnist": ("FashionMNIST", "dataset-fashion-mnist", N_("Fashion-MNIST")),
    "mnist": ("MNIST", None, N_("MNIST")),
    "kmnist": ("KMNIST", None, N_("Kuzushiji-MNIST")),
}
DEBIAN_DATASETS = Path("usr/share/datasets")  # under the system root


def system_root() -> Path:
    return Path(os.environ.get("GENLAB_SYSTEM_ROOT") or "/")


def cache_root() -> Path:
    return Path(os.environ.get("GENLAB_CACHE", Path.home() / ".cache" / "genlab"))


def downloads_dir() -> Path:
    """Where torchvision downloads to: shared by every clone, like the virtualenv."""
    return cache_root() / "downloads"


def project_data_dir() -> Path:
    """``./data`` of the folder the app runs in (the project's root under ``make run``)."""
    return Path("data").absolute()


def search_dirs(name: str, torchvision_class: str | None = None) -> list[Path]:
    """Folders that may hold ``name``'s IDX files, in the order they are tried."""
    torchvision_class = torchvision_class or IDX_DATASETS[name][0]
    bases = [Path(p) for p in (os.environ.get("GENLAB_DATA"), "data") if p]
    bases.append(downloads_dir())
    dirs = []
    for base in bases:
        dirs += [base / name, base / torchvision_class / "raw"]
    if name in IDX_DATASETS and IDX_DATASETS[name][1]:
        dirs.append(system_root() / DEBIAN_DATASETS / name)
    return dirs


def find_idx_dir(folder: Path) -> dict[str, Path] | None:
    """The four IDX files in ``folder`` (plain or .gz), or None if any is missing."""
    found = {}
    for key, stem in IDX_FILES.items():
        for candidate in (folder / stem, folder / f"{stem}.gz"):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            return None
    return found


def locate(name: str, torchvision_class: str | None = None) -> tuple[Path, dict[str, Path]] | None:
    """The first folder in the search order holding all four of ``name``'s IDX files, and the
    files; None when no folder does (it would need a download)."""
    for folder in search_dirs(name, torchvision_class):
        files = find_idx_dir(folder)
        if files:
            return folder, files
    return None
