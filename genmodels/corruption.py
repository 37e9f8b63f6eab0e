"""Noise for the denoising autoencoder. Every function maps clean images in [0, 1] to corrupted
images in [0, 1] of the same shape, draws from an optional ``torch.Generator``, and is the
identity at strength 0.

- gaussian:     x~ = clip(x + sigma * eps, 0, 1),  eps ~ N(0, I)
- salt_pepper:  each pixel independently, with probability p, becomes 0 or 1 (equally likely)
- masking:      each pixel independently, with probability p, is set to 0 ("dropout" noise,
                Vincent et al. 2008)
- block:        a square of side round(strength * H) at a random position is set to 0 (occlusion)
"""

from __future__ import annotations

import torch

from genmodels.i18n import L_

CORRUPTIONS = ("none", "gaussian", "salt_pepper", "masking", "block")


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def gaussian(x: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (x + sigma * noise).clamp(0.0, 1.0)


def salt_pepper(x: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    hit = _uniform(x, generator) < p
    salt = _uniform(x, generator) < 0.5  # salt (1) or pepper (0), equally likely
    return torch.where(hit, salt.to(x.dtype), x)


def masking(x: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    keep = _uniform(x, generator) >= p
    return x * keep


def block(x: torch.Tensor, strength: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero one square per image; its side is ``strength`` times the image side."""
    batch, _, height, width = x.shape
    side = round(strength * min(height, width))
    if side == 0:
        return x
    # Top-left corners, one per image: (B,)
    top = torch.randint(0, height - side + 1, (batch,), generator=generator, device=x.device)
    left = torch.randint(0, width - side + 1, (batch,), generator=generator, device=x.device)
    rows = torch.arange(height, device=x.device).view(1, height, 1)  # (1, H, 1)
    cols = torch.arange(width, device=x.device).view(1, 1, width)  # (1, 1, W)
    inside = (
        (rows >= top.view(-1, 1, 1)) & (rows < (top + side).view(-1, 1, 1))
        & (cols >= left.view(-1, 1, 1)) & (cols < (left + side).view(-1, 1, 1))
    )  # (B, H, W)
    return x * ~inside.unsqueeze(1)  # broadcast over channels


def corrupt(x: torch.Tensor, kind: str, strength: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply the corruption named ``kind`` (one of CORRUPTIONS) at ``strength``."""
    if kind == "none" or strength == 0:
        return x
    if kind == "gaussian":
        return gaussian(x, strength, generator)
    if kind == "salt_pepper":
        return salt_pepper(x, strength, generator)
    if kind == "masking":
        return masking(x, strength, generator)
    if kind == "block":
        return block(x, strength, generator)
    raise ValueError(L_("unknown corruption {kind}; valid: {valid}", kind=repr(kind), valid=", ".join(CORRUPTIONS)))
