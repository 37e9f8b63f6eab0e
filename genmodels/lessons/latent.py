"""Walking through a latent space: planes, grids, interpolation, seeded samples (used by the VAE
explorer and the GAN studio).

A *plane* is an origin and two orthonormal directions in latent space; the point (u, v) on it is
z = origin + u * axis_u + v * axis_v. With a 2-D latent the plane is the whole space (origin 0,
axes e1 and e2). With more dimensions it is two chosen coordinate axes with the rest held fixed,
or a random plane through the origin.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.distributions import Normal


@dataclass(frozen=True)
class Plane:
    origin: torch.Tensor  # (D,)
    axis_u: torch.Tensor  # (D,), unit length
    axis_v: torch.Tensor  # (D,), unit length, orthogonal to axis_u

    def point(self, u: float, v: float) -> torch.Tensor:
        """The latent code at (u, v): (D,)."""
        return self.origin + u * self.axis_u + v * self.axis_v

    def points(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Codes for many (u, v): u, v (N,) -> (N, D)."""
        return self.origin + u[:, None] * self.axis_u + v[:, None] * self.axis_v

    def project(self, z: torch.Tensor) -> torch.Tensor:
        """Coordinates of codes z (N, D) on the plane: (N, 2)."""
        offset = z - self.origin
        return torch.stack([offset @ self.axis_u, offset @ self.axis_v], dim=1)


def axis_plane(latent_dim: int, dim_u: int = 0, dim_v: int = 1, origin: torch.Tensor | None = None) -> Plane:
    """Vary coordinates ``dim_u`` and ``dim_v``; hold the others at ``origin`` (default 0)."""
    if dim_u == dim_v or not (0 <= dim_u < latent_dim and 0 <= dim_v < latent_dim):
        raise ValueError(f"pick two different dimensions between 0 and {latent_dim - 1}")
    eye = torch.eye(latent_dim)
    base = torch.zeros(latent_dim) if origin is None else origin.detach().float().cpu().clone()
    base[dim_u] = 0.0
    base[dim_v] = 0.0  # the plane's own coordinates come from (u, v)
    return Plane(origin=base, axis_u=eye[dim_u], axis_v=eye[dim_v])


def random_plane(latent_dim: int, seed: int = 0) -> Plane:
    """A random plane through the origin: two random directions made orthonormal (Gram-Schmidt)."""
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(latent_dim, generator=g), torch.randn(latent_dim, generator=g)
    axis_u = a / a.norm()
    b = b - (b @ axis_u) * axis_u  # remove the component along axis_u
    return Plane(origin=torch.zeros(latent_dim), axis_u=axis_u, axis_v=b / b.norm())


def grid_coordinates(n: int, span: float, spacing: str = "even") -> torch.Tensor:
    """n coordinates along one axis. "even": evenly from -span to span. "quantile": the Gaussian
    quantiles of n evenly spaced probabilities in [0.05, 0.95] (as the classic Keras VAE plot),
    denser near 0 where the prior puts its mass; ``span`` is ignored there."""
    if spacing == "quantile":
        return Normal(0.0, 1.0).icdf(torch.linspace(0.05, 0.95, n))
    if spacing != "even":
        raise ValueError(f"spacing must be 'even' or 'quantile'; got {spacing!r}")
    return torch.linspace(-span, span, n)


@torch.no_grad()
def latent_grid(model, plane: Plane, n: int, span: float, spacing: str = "even") -> torch.Tensor:
    """Decode an n x n grid over the plane: (n*n, C, H, W), row-major from the top-left, so the top
    row has the largest v (as on a plot) and u grows to the right."""
    coords = grid_coordinates(n, span, spacing)
    v, u = torch.meshgrid(coords.flip(0), coords, indexing="ij")  # (n, n) each
    return decode(model, plane.points(u.reshape(-1), v.reshape(-1)))


@torch.no_grad()
def decode(model, z: torch.Tensor) -> torch.Tensor:
    """Codes (N, D) -> images (N, C, H, W) in [0, 1], on the model's device and back to the CPU."""
    weight = next(model.parameters())
    return model.decode(z.to(weight.device, weight.dtype)).float().cpu()


@torch.no_grad()
def reconstruct(model, images: torch.Tensor) -> torch.Tensor:
    """The model's reconstructions of CPU images (N, C, H, W), computed on its device, back on the CPU."""
    weight = next(model.parameters())
    return model.reconstruct(images.to(weight.device, weight.dtype)).float().cpu()


@torch.no_grad()
def encode_means(model, images: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """Codes of images (N, C, H, W): (N, D) on the CPU. For a VAE, the posterior means; for an
    autoencoder, its (deterministic) codes."""
    weight = next(model.parameters())
    codes = []
    for x in images.split(batch_size):
        code = model.encode(x.to(weight.device, weight.dtype))
        codes.append((code.mu if hasattr(code, "mu") else code).float().cpu())
    return torch.cat(codes)


@torch.no_grad()
def interpolate(model, z_start: torch.Tensor, z_end: torch.Tensor, steps: int) -> torch.Tensor:
    """Decode ``steps`` codes on the straight line from z_start to z_end (both included):
    (steps, C, H, W)."""
    t = torch.linspace(0, 1, steps)[:, None]  # (steps, 1)
    return decode(model, (1 - t) * z_start.cpu() + t * z_end.cpu())


def noise(latent_dim: int, n: int, seed: int) -> torch.Tensor:
    """n noise vectors z ~ N(0, I), (n, latent_dim), drawn on the CPU from ``seed``: the same
    pictures whatever device the model is on."""
    return torch.randn((n, latent_dim), generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def generated(model, n: int, seed: int) -> torch.Tensor:
    """n samples from a generator (n, C, H, W) on the CPU, from seeded noise. Switches a model
    that was left in training mode to eval mode, so batch norm uses its running statistics
    (sampling never updates them)."""
    if model.training:
        model.eval()
    return decode(model, noise(model.config.latent_dim, n, seed))
