"""Image quality of a reconstruction against its original: inputs are images (B, C, H, W) in
[0, 1], outputs one number per image (B,)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def psnr(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB for a peak of 1: 10 log10(1 / MSE), MSE averaged over an
    image's pixels; one value per image (B,). Identical images are capped at 100 dB."""
    mse = (prediction.float() - target.float()).pow(2).flatten(1).mean(dim=1)  # (B,)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


def gaussian_window(size: int = 11, sigma: float = 1.5, device=None) -> torch.Tensor:
    """A normalised 2-D Gaussian kernel (size, size)."""
    coords = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(prediction: torch.Tensor, target: torch.Tensor, window_size: int = 11) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) with an 11x11 Gaussian window (sigma 1.5), data
    range 1, K1 = 0.01, K2 = 0.03, computed per channel over the 'valid' window positions and
    averaged: one value per image (B,), 1 for identical images.

        SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))"""
    x, y = prediction.float(), target.float()
    channels = x.shape[1]
    window = gaussian_window(window_size, device=x.device).expand(channels, 1, window_size, window_size)

    def blur(t):  # depthwise convolution: local means, (B, C, H-10, W-10)
        return F.conv2d(t, window, groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(1).mean(dim=1)
