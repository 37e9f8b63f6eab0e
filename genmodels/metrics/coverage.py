"""Mode and support coverage for the 2-D toys (the GAN and diffusion labs): points (N, 2), mode
centres (M, 2)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


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
