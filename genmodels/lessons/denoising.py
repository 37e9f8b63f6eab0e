"""The denoising lesson's computations: corrupt, restore, measure; a PCA baseline; robustness
curves; and how far an image is from what a model knows.

All images are (N, C, H, W) in [0, 1] on the CPU; models run on their own device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genmodels.corruption import corrupt
from genmodels.lessons.latent import reconstruct
from genmodels.metrics.image_quality import psnr, ssim

DEFAULT_NOISE = "gaussian"  # the noise the Denoising lab opens on
ROBUSTNESS_LEVELS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)  # not 0: a clean input's PSNR is unbounded
PCA_SIZES = (2, 4, 8, 16, 32, 64, 128)  # the code sizes at which the Autoencoders lesson draws PCA


@dataclass(frozen=True)
class Denoised:
    clean: torch.Tensor  # (N, C, H, W)
    noisy: torch.Tensor
    restored: dict[str, torch.Tensor]  # model name -> (N, C, H, W)
    psnr: dict[str, torch.Tensor]  # "noisy" and each model name -> (N,) dB against the clean images
    ssim: dict[str, torch.Tensor]


def denoise(models: dict[str, torch.nn.Module], clean: torch.Tensor, kind: str, strength: float,
            seed: int = 0) -> Denoised:
    """Corrupt ``clean`` once (seeded) and let every model restore the same noisy images."""
    noisy = corrupt(clean, kind, strength, torch.Generator().manual_seed(seed))
    restored = {name: reconstruct(model, noisy) for name, model in models.items()}
    outputs = {"noisy": noisy, **restored}
    return Denoised(clean=clean, noisy=noisy, restored=restored,
                    psnr={k: psnr(v, clean) for k, v in outputs.items()},
                    ssim={k: ssim(v, clean) for k, v in outputs.items()})


@dataclass(frozen=True)
class PCA:
    """Principal component analysis of flattened images: the linear baseline a DAE must beat."""

    mean: torch.Tensor  # (P,)
    components: torch.Tensor  # (k, P), orthonormal rows

    @classmethod
    def fit(cls, images: torch.Tensor, k: int, max_images: int = 20_000) -> PCA:
        x = images[:max_images].flatten(1).float()  # (N, P)
        mean = x.mean(dim=0)
        centred = x - mean
        # The principal directions are the top eigenvectors of the covariance (P, P): one eigh of a
        # 784x784 matrix instead of an SVD of the whole data matrix.
        covariance = (centred.T @ centred).double() / len(x)
        _, vectors = torch.linalg.eigh(covariance)  # eigenvalues ascending, vectors in columns
        return cls(mean=mean, components=vectors[:, -k:].flip(1).T.float().contiguous())

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Project onto the k components and back, clipped to [0, 1]: same shape as ``images``."""
        x = images.flatten(1) - self.mean  # (N, P)
        projected = (x @ self.components.T) @ self.components + self.mean
        return projected.clamp(0, 1).view_as(images)


def robustness(models: dict[str, object], clean: torch.Tensor, kind: str, levels: list[float],
               seed: int = 0) -> dict[str, list[float]]:
    """Mean PSNR (dB) against the clean images at each noise level: for the noisy input itself and
    for each model (anything with a ``reconstruct`` method, or a PCA)."""
    curves: dict[str, list[float]] = {"noisy input": []}
    for name in models:
        curves[name] = []
    for level in levels:
        noisy = corrupt(clean, kind, level, torch.Generator().manual_seed(seed))
        curves["noisy input"].append(psnr(noisy, clean).mean().item())
        for name, model in models.items():
            output = model.reconstruct(noisy) if isinstance(model, PCA) else reconstruct(model, noisy)
            curves[name].append(psnr(output, clean).mean().item())
    return curves


def reconstruction_errors(model, images: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """Per-image mean squared reconstruction error (N,): large for images unlike the training data."""
    errors = [(reconstruct(model, x) - x).pow(2).flatten(1).mean(dim=1) for x in images.split(batch_size)]
    return torch.cat(errors)
