"""Datasets as tensors on the training device, batched by shuffled index (no DataLoader).

Images are float32 (N, C, H, W) in [0, 1]; points are float32 (N, 2). Every dataset has a train and
a test split with integer labels and class names.

Where image datasets come from, first hit wins (``genmodels.sources``, which imports no torch, so
the setup step of ``make run`` asks the same question in milliseconds):
1. ``$GENLAB_DATA``, then ``./data``, then genlab's download cache, each holding the four IDX files
   (``train-images-idx3-ubyte[.gz]`` ...) in ``<dir>/<name>/`` or torchvision's ``<dir>/<Class>/raw/``;
2. for fashion-mnist, Debian's package ``dataset-fashion-mnist`` (/usr/share/datasets/fashion-mnist);
3. a download through torchvision into the cache (unless ``GENLAB_OFFLINE=1``).
The IDX files are decoded once and cached as .npy arrays, so the next start is fast.
``sprites`` and the 2-D toys are generated from a seed and need no files at all.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from genmodels.errors import DatasetUnavailable
from genmodels.i18n import L_
from genmodels.sources.fetch import download_with_torchvision
from genmodels.sources.local import IDX_FILES, cache_root, downloads_dir, find_idx_dir, locate, search_dirs

# Class names people read: lazy texts, shown in the reader's language (a str, English, to code and JSON).
FASHION_CLASSES = (L_("T-shirt/top"), L_("Trouser"), L_("Pullover"), L_("Dress"), L_("Coat"),
                   L_("Sandal"), L_("Shirt"), L_("Sneaker"), L_("Bag"), L_("Ankle boot"))
DIGIT_CLASSES = tuple(str(d) for d in range(10))
KMNIST_CLASSES = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")
SPRITE_CLASSES = (L_("square"), L_("ellipse"), L_("triangle"), L_("cross"), L_("ring"))


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: str  # "image" or "points"
    train_x: torch.Tensor  # (N, C, H, W) in [0, 1], or (N, 2)
    train_y: torch.Tensor  # (N,) int64
    test_x: torch.Tensor
    test_y: torch.Tensor
    class_names: tuple[str, ...]
    source: str  # where it came from, for the user
    modes: torch.Tensor | None = None  # (M, 2) centres of a mixture toy (ring, grid), else None
    mode_std: float = 0.0

    @property
    def channels(self) -> int:
        return self.train_x.shape[1] if self.kind == "image" else 0

    @property
    def image_size(self) -> int:
        return self.train_x.shape[-1] if self.kind == "image" else 0

    @property
    def device(self) -> torch.device:
        return self.train_x.device

    def to(self, device) -> Dataset:
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return replace(self, train_x=move(self.train_x), train_y=move(self.train_y),
                       test_x=move(self.test_x), test_y=move(self.test_y), modes=move(self.modes))


def batch_indices(n: int, batch_size: int, generator: torch.Generator, device) -> list[torch.Tensor]:
    """One epoch of shuffled index batches (the last may be smaller): a list of (<=batch_size,) tensors."""
    order = torch.randperm(n, generator=generator, device=device)
    return list(order.split(batch_size))


# --------------------------------------------------------------------------------------------
# IDX files (the MNIST family's format): a big-endian header, then raw uint8 data.
# --------------------------------------------------------------------------------------------

def read_idx(path: Path) -> np.ndarray:
    """Decode one IDX file (optionally gzipped): magic 0x0000080N (N = number of dims), N big-endian
    uint32 sizes, then uint8 data. Refuses anything else with a message naming the file."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        raise DatasetUnavailable(L_("cannot read {file}: {reason}", file=path, reason=error)) from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08 or not 1 <= raw[3] <= 3:
        raise DatasetUnavailable(L_("{file} is not an IDX file of unsigned bytes", file=path))
    dims = raw[3]
    header = 4 + 4 * dims
    shape = struct.unpack(f">{dims}I", raw[4:header])
    if len(raw) - header != math.prod(shape):
        raise DatasetUnavailable(L_("{file} is truncated or corrupt: header says {shape}, file holds {size} bytes of "
                                    "data", file=path, shape=shape, size=len(raw) - header))
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_idx_dataset(files: dict[str, Path]) -> dict[str, np.ndarray]:
    """Decode the four IDX files, through a .npz cache keyed by their paths, sizes and mtimes."""
    key = hashlib.sha256(
        "|".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files.values()).encode()
    ).hexdigest()[:16]
    cached = cache_root() / "arrays" / f"{key}.npz"
    if cached.is_file():
        try:
            with np.load(cached, allow_pickle=False) as arrays:
                return {k: arrays[k] for k in IDX_FILES}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # a damaged cache is rebuilt below
    arrays = {k: read_idx(p) for k, p in files.items()}
    for split in ("train", "test"):
        if arrays[f"{split}_x"].ndim != 3 or len(arrays[f"{split}_x"]) != len(arrays[f"{split}_y"]):
            raise DatasetUnavailable(L_("{folder}: {split} images and labels do not match",
                                        folder=files[split + "_x"].parent, split=split))
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=cached.parent, suffix=".partial.npz")  # unique per writer
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(partial, cached)  # atomic: a reader never sees half a cache file
    except OSError:
        pass  # a read-only home only costs the cache
    return arrays


def idx_image_dataset(name: str, torchvision_class: str, class_names: tuple[str, ...]) -> Dataset:
    found = locate(name, torchvision_class)
    if found:
        folder, files = found
    else:
        try:
            download_with_torchvision(name)
        except Exception as error:  # torchvision raises many kinds (URLError, RuntimeError, ...)
            places = ", ".join(str(d) for d in search_dirs(name, torchvision_class)[:2])
            raise DatasetUnavailable(L_(
                "{name} is not on this machine and could not be downloaded ({error}). Put the four IDX files "
                "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                "t10k-labels-idx1-ubyte.gz) in one of: {places}, or set GENLAB_DATA to a folder that holds them, or "
                "connect to the internet.", name=name, error=error, places=places)) from None
        folder = downloads_dir() / torchvision_class / "raw"
        files = find_idx_dir(folder)
        if not files:
            raise DatasetUnavailable(L_("torchvision downloaded {name}, but no IDX files are in {folder}", name=name,
                                        folder=folder))
    arrays = load_idx_dataset(files)

    def images(a: np.ndarray) -> torch.Tensor:  # (N, H, W) uint8 -> (N, 1, H, W) float in [0, 1]
        return torch.from_numpy(a.copy()).unsqueeze(1).float().div_(255)

    def labels(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.astype(np.int64))

    return Dataset(name=name, kind="image", train_x=images(arrays["train_x"]), train_y=labels(arrays["train_y"]),
                   test_x=images(arrays["test_x"]), test_y=labels(arrays["test_y"]),
                   class_names=class_names, source=str(folder))


# --------------------------------------------------------------------------------------------
# sprites: procedural 28x28 shapes, rendered from signed distances with a one-pixel soft edge.
# --------------------------------------------------------------------------------------------

def render_sprites(n: int, generator: torch.Generator, size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """n random shapes -> (images (n, 1, size, size) in [0, 1], labels (n,) indexing SPRITE_CLASSES).

    Each shape has a random centre, radius and rotation. For every pixel we compute a signed
    distance d to the shape's outline (negative inside) and paint clamp(0.5 - d, 0, 1), which
    anti-aliases the edge over one pixel."""
    def uniform(low, high):
        return low + (high - low) * torch.rand(n, generator=generator)

    labels = torch.randint(0, len(SPRITE_CLASSES), (n,), generator=generator)
    radius = uniform(0.16, 0.34) * size  # (n,)
    cx = uniform(0.0, 1.0) * (size - 2 * radius) + radius - 0.5  # keep the shape inside the frame
    cy = uniform(0.0, 1.0) * (size - 2 * radius) + radius - 0.5
    angle = uniform(0.0, 2 * math.pi)
    aspect = uniform(0.5, 1.0)  # ellipse minor/major axis ratio

    coords = torch.arange(size, dtype=torch.float32)
    y = coords.view(1, size, 1) - cy.view(n, 1, 1)  # (n, size, 1)
    x = coords.view(1, 1, size) - cx.view(n, 1, 1)  # (n, 1, size)
    cos, sin = torch.cos(angle).view(n, 1, 1), torch.sin(angle).view(n, 1, 1)
    u, v = x * cos + y * sin, -x * sin + y * cos  # rotated coordinates, each (n, size, size)
    r = radius.view(n, 1, 1)

    square = torch.maximum(u.abs(), v.abs()) - 0.8 * r
    a, b = r, r * aspect.view(n, 1, 1)
    ellipse = (torch.sqrt((u / a) ** 2 + (v / b) ** 2) - 1) * b
    # Equilateral triangle: the max over three edge half-planes, inradius r/2.
    edges = [u * math.cos(t) + v * math.sin(t) for t in (math.pi / 2, math.pi / 2 + 2 * math.pi / 3,
                                                           math.pi / 2 + 4 * math.pi / 3)]
    triangle = torch.maximum(torch.maximum(edges[0], edges[1]), edges[2]) - 0.5 * r
    arm = 0.3 * r
    cross = torch.minimum(torch.maximum(u.abs() - r, v.abs() - arm), torch.maximum(u.abs() - arm, v.abs() - r))
    ring = (torch.sqrt(u**2 + v**2) - 0.75 * r).abs() - 0.22 * r

    distance = torch.stack([square, ellipse, triangle, cross, ring], dim=1)  # (n, 5, size, size)
    chosen = distance.gather(1, labels.view(n, 1, 1, 1).expand(n, 1, size, size))  # (n, 1, size, size)
    return (0.5 - chosen).clamp(0.0, 1.0), labels


def sprites(seed: int = 0, n_train: int = 10000, n_test: int = 2000) -> Dataset:
    train = render_sprites(n_train, torch.Generator().manual_seed(seed))
    test = render_sprites(n_test, torch.Generator().manual_seed(seed + 1_000_003))
    return Dataset(name="sprites", kind="image", train_x=train[0], train_y=train[1], test_x=test[0],
                   test_y=test[1], class_names=SPRITE_CLASSES, source=L_("generated (seed {seed})", seed=seed))


# --------------------------------------------------------------------------------------------
# 2-D toys for the GAN lab.
# --------------------------------------------------------------------------------------------

def ring_modes() -> torch.Tensor:
    """8 centres evenly spaced on a circle of radius 2: (8, 2)."""
    t = torch.arange(8) * (2 * math.pi / 8)
    return torch.stack([2 * torch.cos(t), 2 * torch.sin(t)], dim=1)


def grid_modes() -> torch.Tensor:
    """25 centres on a 5x5 grid at {-2, -1, 0, 1, 2}^2: (25, 2)."""
    axis = torch.linspace(-2, 2, 5)
    return torch.cartesian_prod(axis, axis)


def mixture_points(modes: torch.Tensor, std: float, n: int, g: torch.Generator):
    labels = torch.randint(0, len(modes), (n,), generator=g)
    return modes[labels] + std * torch.randn(n, 2, generator=g), labels


def moons_points(n: int, g: torch.Generator):
    """Two interleaved half circles (as scikit-learn's make_moons), centred and scaled to ~[-2, 2]."""
    labels = torch.randint(0, 2, (n,), generator=g)
    t = math.pi * torch.rand(n, generator=g)
    upper = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], dim=1)
    points = torch.where(labels.view(-1, 1) == 0, upper, lower) - torch.tensor([0.5, 0.25])
    return 1.6 * points + 0.08 * torch.randn(n, 2, generator=g), labels


def spiral_points(n: int, g: torch.Generator):
    """Two arms of an Archimedean spiral r ~ t, labelled by arm."""
    labels = torch.randint(0, 2, (n,), generator=g)
    t = torch.sqrt(torch.rand(n, generator=g)) * 3 * math.pi  # sqrt: even density along the arm
    r = t / (3 * math.pi) * 2.2
    phase = labels * math.pi
    points = torch.stack([r * torch.cos(t + phase), r * torch.sin(t + phase)], dim=1)
    return points + 0.05 * torch.randn(n, 2, generator=g), labels


def toy(name: str, seed: int = 0, n_train: int = 8000, n_test: int = 2000) -> Dataset:
    modes, std, classes = None, 0.0, ("arm 1", "arm 2")
    if name == "toy-ring":
        modes, std = ring_modes(), 0.05
    elif name == "toy-grid":
        modes, std = grid_modes(), 0.05
    elif name == "toy-moons":
        classes = ("upper moon", "lower moon")

    def draw(n, g):
        if modes is not None:
            return mixture_points(modes, std, n, g)
        return moons_points(n, g) if name == "toy-moons" else spiral_points(n, g)

    train = draw(n_train, torch.Generator().manual_seed(seed))
    test = draw(n_test, torch.Generator().manual_seed(seed + 1_000_003))
    if modes is not None:
        classes = tuple(L_("mode {n}", n=i + 1) for i in range(len(modes)))
    return Dataset(name=name, kind="points", train_x=train[0], train_y=train[1], test_x=test[0], test_y=test[1],
                   class_names=classes, source=L_("generated (seed {seed})", seed=seed), modes=modes, mode_std=std)


# --------------------------------------------------------------------------------------------
# The catalogue.
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DatasetInfo:
    name: str
    kind: str
    description: str
    load: Callable[[], Dataset]
    torchvision_class: str | None = None  # for IDX datasets: where torchvision would put them


DATASETS: dict[str, DatasetInfo] = {
    "fashion-mnist": DatasetInfo(
        "fashion-mnist", "image", L_("70,000 28x28 grey clothing images, 10 classes (Zalando)"),
        lambda: idx_image_dataset("fashion-mnist", "FashionMNIST", FASHION_CLASSES), "FashionMNIST"),
    "mnist": DatasetInfo(
        "mnist", "image", L_("70,000 28x28 handwritten digits"),
        lambda: idx_image_dataset("mnist", "MNIST", DIGIT_CLASSES), "MNIST"),
    "kmnist": DatasetInfo(
        "kmnist", "image", L_("70,000 28x28 cursive Japanese characters (Kuzushiji-MNIST)"),
        lambda: idx_image_dataset("kmnist", "KMNIST", KMNIST_CLASSES), "KMNIST"),
    "sprites": DatasetInfo("sprites", "image", L_("12,000 generated 28x28 shapes, 5 classes, no download"), sprites),
    "toy-ring": DatasetInfo("toy-ring", "points", L_("8 Gaussians on a circle"), lambda: toy("toy-ring")),
    "toy-grid": DatasetInfo("toy-grid", "points", L_("25 Gaussians on a 5x5 grid"), lambda: toy("toy-grid")),
    "toy-moons": DatasetInfo("toy-moons", "points", L_("two interleaved half moons"), lambda: toy("toy-moons")),
    "toy-spiral": DatasetInfo("toy-spiral", "points", L_("a two-armed spiral"), lambda: toy("toy-spiral")),
}


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise DatasetUnavailable(L_("unknown dataset {name}; valid: {valid}", name=repr(name),
                                    valid=", ".join(DATASETS)))
    return DATASETS[name]


def load_dataset(name: str, device: str | torch.device = "cpu") -> Dataset:
    """Load ``name`` (see DATASETS) with its tensors on ``device``."""
    return dataset_info(name).load().to(device)


def where_available(name: str) -> str | None:
    """Where ``name`` would be loaded from without a download, or None if it would need one."""
    info = dataset_info(name)
    if info.torchvision_class is None:
        return "generated on the fly"
    found = locate(name, info.torchvision_class)
    return str(found[0]) if found else None


def is_available(name: str) -> bool:
    """Whether ``name`` is a known dataset that loads without a download (False for unknown names,
    such as a checkpoint's "your-images")."""
    return name in DATASETS and where_available(name) is not None
