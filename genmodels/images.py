"""Image helpers: tensors in [0, 1] -> PIL images and grids for display and download."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) floats in [0, 1] -> (N, H, W, C) uint8."""
    array = (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
    return array.permute(0, 2, 3, 1).cpu().numpy()


def grid(images: torch.Tensor, columns: int | None = None, padding: int = 2, scale: int = 1) -> Image.Image:
    """Tile (N, C, H, W) images in [0, 1] into one picture, ``columns`` wide (default: square-ish),
    with ``padding`` dark pixels between tiles, each pixel enlarged ``scale`` times (nearest
    neighbour, so pixels stay crisp)."""
    n, c, h, w = images.shape
    columns = columns or max(1, int(np.ceil(np.sqrt(n))))
    rows = int(np.ceil(n / columns))
    tiles = to_uint8(images)  # (N, H, W, C)
    canvas = np.zeros((rows * (h + padding) + padding, columns * (w + padding) + padding, c), dtype=np.uint8)
    for i in range(n):
        top, left = padding + (i // columns) * (h + padding), padding + (i % columns) * (w + padding)
        canvas[top:top + h, left:left + w] = tiles[i]
    picture = Image.fromarray(canvas[..., 0] if c == 1 else canvas)  # (H, W) -> "L", (H, W, 3) -> "RGB"
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    return picture


def rows_grid(rows: torch.Tensor, padding: int = 2, scale: int = 1) -> Image.Image:
    """(R, N, C, H, W) -> one picture with R rows of N images (e.g. inputs over reconstructions)."""
    r, n = rows.shape[:2]
    return grid(rows.reshape(r * n, *rows.shape[2:]), columns=n, padding=padding, scale=scale)
