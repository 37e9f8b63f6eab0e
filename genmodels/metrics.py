"""Image-quality numbers. Inputs are images (B, C, H, W) in [0, 1]; outputs are per image (B,)."""

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


# --------------------------------------------------------------------------------------------
# Frechet distance between two sets of feature vectors (the maths behind FID)
# --------------------------------------------------------------------------------------------

def feature_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and covariance (D, D) of ``features`` (N, D), in float64 (N - 1 in the denominator)."""
    x = features.double()
    mean = x.mean(dim=0)
    centred = x - mean
    return mean, centred.T @ centred / (len(x) - 1)


def symmetric_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """The PSD square root of a symmetric PSD matrix, from its eigendecomposition (negative
    eigenvalues from round-off are clipped to 0)."""
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(mean_a: torch.Tensor, cov_a: torch.Tensor, mean_b: torch.Tensor, cov_b: torch.Tensor) -> float:
    """Squared Frechet (2-Wasserstein) distance between the Gaussians N(mean_a, cov_a) and
    N(mean_b, cov_b), as FID uses it (Heusel et al., "GANs Trained by a Two Time-Scale Update Rule
    Converge to a Local Nash Equilibrium", 2017):

        d^2 = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

    Tr((S_a S_b)^(1/2)) is computed as Tr((S_a^(1/2) S_b S_a^(1/2))^(1/2)): the same eigenvalues,
    but the inner matrix is symmetric PSD, so eigh is stable where a general matrix sqrt is not."""
    mean_a, cov_a, mean_b, cov_b = (t.double() for t in (mean_a, cov_a, mean_b, cov_b))
    root_a = symmetric_sqrt(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    distance = (mean_a - mean_b).pow(2).sum() + torch.trace(cov_a) + torch.trace(cov_b) - 2 * cross
    return max(0.0, distance.item())
