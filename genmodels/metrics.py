"""Numbers computed from results: a smoothed loss curve; image quality (inputs are images (B, C, H, W)
in [0, 1], outputs per image (B,)); and the Frechet distance between feature sets."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


def smooth(values: list[float], weight: float = 0.6) -> list[float]:
    """A loss curve smoothed by a debiased exponential moving average, as TensorBoard's smoothing
    slider computes it: dividing by (1 - weight^t) removes the pull towards the first value that a
    plain EMA has."""
    out, average = [], 0.0
    for t, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight**t))
    return out


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


# --------------------------------------------------------------------------------------------
# Mode coverage for the 2-D toys (GAN lab): points (N, 2), mode centres (M, 2).
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModeCoverage:
    """How a generated point cloud covers a mixture's modes (e.g. the ring's 8 Gaussians)."""

    covered: tuple[bool, ...]  # per mode: enough generated points within ``radius`` of its centre
    counts: tuple[int, ...]  # per mode: generated points within ``radius`` whose nearest mode it is
    radius: float
    min_points: int  # the count a mode needs to be called covered
    points: int  # how many generated points were measured

    @property
    def modes(self) -> int:
        return len(self.covered)

    @property
    def modes_covered(self) -> int:
        return sum(self.covered)

    @property
    def off_mode_fraction(self) -> float:
        """Generated points farther than ``radius`` from every mode: the low-quality samples."""
        return 1.0 - sum(self.counts) / self.points if self.points else 0.0


def mode_coverage(points: torch.Tensor, modes: torch.Tensor, radius: float, min_share: float = 0.25) -> ModeCoverage:
    """Which modes have generated points nearby, and how many points are near none.

    Each point is assigned to its nearest mode centre and counts for it only if it lies within
    ``radius`` (3 x the mode's standard deviation holds 98.9% of a 2-D Gaussian's mass). A mode is
    covered when it holds at least ``min_share`` of its fair share, N / M points, and at least
    one point: 0.25 x 1000 / 8 = 31 points on the ring. The VEEGAN and unrolled-GAN papers
    (Srivastava et al. 2017; Metz et al. 2017) count modes and "high-quality" samples the same way.
    Shapes: points (N, 2), modes (M, 2)."""
    points, modes = points.float(), modes.float().to(points.device)
    if len(points) == 0:
        return ModeCoverage(covered=(False,) * len(modes), counts=(0,) * len(modes), radius=radius, min_points=1,
                            points=0)
    distance, nearest = torch.cdist(points, modes).min(dim=1)  # (N,), (N,)
    near = distance <= radius  # (N,) bool
    counts = torch.bincount(nearest[near], minlength=len(modes))  # (M,)
    min_points = max(1, math.ceil(min_share * len(points) / len(modes)))
    return ModeCoverage(covered=tuple(bool(c >= min_points) for c in counts), counts=tuple(counts.tolist()),
                        radius=radius, min_points=min_points, points=len(points))


@dataclass(frozen=True)
class SupportCoverage:
    """For data without discrete modes (moons, spiral): a point-cloud precision and recall."""

    precision: float  # share of generated points within ``radius`` of some real point
    recall: float  # share of real points with a generated point within ``radius``
    radius: float


def support_coverage(generated: torch.Tensor, real: torch.Tensor, radius: float) -> SupportCoverage:
    """Nearest-neighbour precision and recall of two point clouds, in the spirit of Kynkaanniemi et
    al. 2019 with a fixed radius instead of k-NN balls: precision is "are the fakes on the data?",
    recall "is all of the data reached by some fake?". Shapes: (N, 2) and (R, 2)."""
    if len(generated) == 0 or len(real) == 0:
        return SupportCoverage(precision=0.0, recall=0.0, radius=radius)
    distance = torch.cdist(generated.float(), real.float().to(generated.device))  # (N, R)
    precision = (distance.min(dim=1).values <= radius).float().mean().item()
    recall = (distance.min(dim=0).values <= radius).float().mean().item()
    return SupportCoverage(precision=precision, recall=recall, radius=radius)
