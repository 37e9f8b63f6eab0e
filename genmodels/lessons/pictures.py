"""The style-transfer lesson's pictures: photos and textures that ship inside scikit-image's wheel
(public domain or CC0; no download), a few made from a seed, and the user's uploads, all as
(3, H, W) RGB tensors in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageOps

from genmodels.i18n import N_
from genmodels.images import open_untrusted, to_grey

# name (a function of skimage.data, or a procedural picture) -> its caption.
PHOTOS = {
    "astronaut": N_("Astronaut (Eileen Collins, NASA)"),
    "chelsea": N_("Chelsea the cat"),
    "coffee": N_("A cup of coffee"),
    "rocket": N_("A rocket on its launch pad (NASA)"),
    "hubble_deep_field": N_("Hubble deep field (NASA)"),
}
TEXTURES = {
    "brick": N_("Brick wall"),
    "grass": N_("Grass"),
    "gravel": N_("Gravel"),
}
PROCEDURAL = {
    "waves": N_("Coloured waves (made from a seed)"),
    "dots": N_("Dots (made from a seed)"),
    "tiles": N_("Tiles (made from a seed)"),
}
PICTURES = {**PHOTOS, **TEXTURES, **PROCEDURAL}
PROCEDURAL_SIZE = 256


def from_array(array: np.ndarray) -> torch.Tensor:
    """(H, W) grey or (H, W, 3) uint8 -> (3, H, W) float in [0, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(array)).float() / 255
    if tensor.ndim == 2:
        tensor = tensor[None].expand(3, -1, -1)  # grey -> the same value in R, G and B
    else:
        tensor = tensor[..., :3].permute(2, 0, 1)  # (H, W, 3) -> (3, H, W)
    return tensor.contiguous()


def bundled(name: str, seed: int = 0) -> torch.Tensor:
    """One of PICTURES as (3, H, W) in [0, 1]."""
    if name in PROCEDURAL:
        return procedural(name, seed)
    if name not in PICTURES:
        raise KeyError(name)
    import skimage.data  # the files are inside the wheel: nothing is downloaded

    return from_array(getattr(skimage.data, name)())


def procedural(name: str, seed: int = 0, size: int = PROCEDURAL_SIZE) -> torch.Tensor:
    """A style picture drawn from ``seed``: bent colour waves, scattered dots, or tiles with grout."""
    generator = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size  # (size, size) coordinates in [0, 1)
    palette = generator.uniform(0.1, 0.95, size=(5, 3))  # five colours, one per row
    if name == "waves":
        bend = 0.08 * np.sin(2 * math.pi * (3 * y + generator.uniform()))
        phase = 2 * math.pi * 6 * (x + bend)  # vertical bands, bent sideways
        weights = 0.5 + 0.5 * np.sin(phase[..., None] + np.array([0.0, 2.1, 4.2]))  # (size, size, 3)
        image = weights * palette[0] + (1 - weights) * palette[1]
    elif name == "dots":
        image = np.broadcast_to(palette[0], (size, size, 3)).copy()
        for _ in range(90):
            cx, cy, radius = generator.uniform(), generator.uniform(), generator.uniform(0.02, 0.07)
            inside = (x - cx) ** 2 + (y - cy) ** 2 < radius ** 2
            image[inside] = palette[generator.integers(1, 5)]
    elif name == "tiles":
        cells = 8
        colours = palette[generator.integers(0, 5, size=(cells, cells))]  # (cells, cells, 3)
        image = colours[(y * cells).astype(int), (x * cells).astype(int)]  # (size, size, 3)
        grout = (np.minimum((x * cells) % 1, (y * cells) % 1) < 0.08)[..., None]
        image = np.where(grout, 0.15, image)
    else:
        raise KeyError(name)
    return torch.from_numpy(image).float().permute(2, 0, 1).clamp(0, 1).contiguous()  # (3, size, size)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any mode -> 8-bit RGB: 16-bit and float images through grey (scaled, not clipped),
    transparency onto white as on a web page."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return to_grey(image).convert("RGB")
    if image.mode in ("P", "RGBA", "LA", "PA"):
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def from_upload(name: str, data: bytes) -> torch.Tensor:
    """Untrusted bytes -> (3, H, W) in [0, 1], through the checks every upload passes
    (images.open_untrusted: size, pixel count from the header, real image content), turned
    upright from EXIF; refused with ImageRejected naming the file and the reason."""
    image = ImageOps.exif_transpose(open_untrusted(name, data))
    return from_array(np.asarray(to_rgb(image)))
