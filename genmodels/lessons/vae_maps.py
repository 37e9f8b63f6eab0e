"""What the VAE explorer measures about a latent map before it says anything about it: which
dimensions a VAE really uses (posterior collapse), where to open so the first picture is a clear
one, and how much of a code plane is holes and what the holes decode to (VAE against a plain
autoencoder). Every sentence the page writes about these comes from these numbers."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genmodels.lessons import latent
from genmodels.lessons.gan_diagnosis import nearest_training_images

# A latent dimension is "active" when its posterior mean varies across the data by more than this
# (Burda et al. 2016, "Importance Weighted Autoencoders", active units: Cov_x(E_q[z_u]) > 0.01).
# Below it the dimension is collapsed: every image gets about the same mean there, the KL term has
# pushed its posterior onto the prior, and the decoder ignores it.
ACTIVE_VARIANCE = 0.01


def mean_variances(codes: torch.Tensor) -> torch.Tensor:
    """Variance across the images of each dimension's posterior mean: codes (N, D) -> (D,)."""
    return codes.float().var(dim=0)


def collapsed_dimensions(codes: torch.Tensor) -> list[int]:
    """The dimensions whose posterior mean hardly changes from image to image (see ACTIVE_VARIANCE)."""
    return [int(d) for d in (mean_variances(codes) < ACTIVE_VARIANCE).nonzero().flatten()]


def informative_pair(codes: torch.Tensor) -> tuple[int, int]:
    """The two dimensions whose posterior means vary most across the images: the default plane."""
    first, second = mean_variances(codes).topk(2).indices.tolist()
    return int(first), int(second)


def start_index(model, codes: torch.Tensor, candidates: int = 200) -> int:
    """A test image to open on: among the first ``candidates``, the one whose own code decodes to
    the most contrasted picture (the largest pixel standard deviation), so the first thing a student
    sees is a clear garment, not the faint average at the origin."""
    decoded = latent.decode(model, codes[:candidates])  # (K, C, H, W)
    return int(decoded.flatten(1).std(dim=1).argmax())


@dataclass(frozen=True)
class Holes:
    """Holes in a 2-D code plane, over the box where the test codes lie (their 1st to 99th
    percentiles on each axis), sampled on an n x n grid."""

    low: tuple[float, float]  # the box's lower-left corner...
    high: tuple[float, float]  # ...and upper-right one
    radius: float  # a grid point is a hole when no test code lies within this (the codes' 99th-percentile
    # distance to their nearest neighbour: farther from every code than almost any code is from the next)
    share: float  # the share of the box's grid points that are holes
    near_codes: float  # median pixel distance from the decodes of the other grid points to their nearest training image
    in_holes: float  # the same for the decodes of the holes (nan when there are none)
    examples: torch.Tensor  # (K, C, H, W): decodes of the K holes farthest from every code

    @property
    def penalty(self) -> float:
        """How much farther from real images the holes decode than the rest: in_holes / near_codes - 1."""
        return self.in_holes / self.near_codes - 1


@torch.no_grad()
def holes(model, codes: torch.Tensor, train_x: torch.Tensor, n: int = 30, examples: int = 8,
          neighbours: int = 2000) -> Holes:
    """Measure the holes of ``model``'s 2-D code plane; ``codes`` (N, 2) are its test codes and
    ``train_x`` (M, C, H, W) the real images the decodes are compared with (pixel distance, as the
    GAN studio's memorisation check)."""
    low, high = codes.quantile(0.01, dim=0), codes.quantile(0.99, dim=0)  # (2,) each
    sample = codes[:neighbours]
    pairwise = torch.cdist(sample, sample)  # (S, S)
    pairwise.fill_diagonal_(float("inf"))
    radius = pairwise.min(dim=1).values.quantile(0.99).item()
    v, u = torch.meshgrid(torch.linspace(low[1], high[1], n), torch.linspace(low[0], high[0], n), indexing="ij")
    grid = torch.stack([u.flatten(), v.flatten()], dim=1)  # (n*n, 2)
    to_codes = torch.cdist(grid, codes).min(dim=1).values  # (n*n,) distance to the nearest test code
    hole = to_codes > radius
    decoded = latent.decode(model, grid)  # (n*n, C, H, W)
    realism = nearest_training_images(decoded, train_x).distances  # (n*n,)
    farthest = to_codes.masked_fill(~hole, -1).topk(min(examples, int(hole.sum()))).indices
    return Holes(low=tuple(low.tolist()), high=tuple(high.tolist()), radius=radius, share=hole.float().mean().item(),
                 near_codes=realism[~hole].median().item(),
                 in_holes=realism[hole].median().item() if hole.any() else float("nan"),
                 examples=decoded[farthest])
