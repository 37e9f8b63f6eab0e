"""The denoising lesson's computations: corrupt, restore, measure; a PCA baseline; robustness
curves; and how far a picture is from the training images (in a feature classifier's space).

All images are (N, C, H, W) in [0, 1] on the CPU; models run on their own device.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from genmodels.corruption import corrupt
from genmodels.i18n import N_
from genmodels.lessons.latent import reconstruct
from genmodels.metrics.image_quality import psnr, ssim

DEFAULT_NOISE = "gaussian"  # the noise the Denoising lab opens on
# The corruptions (genmodels.corruption) and what their strength means, marked for translation.
NOISES = {"gaussian": N_("Gaussian noise (sigma)"), "salt_pepper": N_("salt and pepper (fraction of pixels)"),
          "masking": N_("masking (fraction of pixels set to 0)"), "block": N_("block occlusion (side of the square)")}
NOISE_NAMES = {"gaussian": N_("Gaussian noise"), "salt_pepper": N_("salt-and-pepper noise"),
               "masking": N_("masking noise"), "block": N_("block occlusion")}  # the same, in a sentence
# Up to the strength slider's maximum, 1.0; not 0: a clean input's PSNR is unbounded.
ROBUSTNESS_LEVELS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
# Test images per point of a robustness curve, the same for every model: half of the 1,000 it was, to
# halve the warm-up; the shipped models' means move by up to 0.24 dB (block occlusion, whose PSNR
# varies most from image to image: 1.4 dB).
ROBUSTNESS_IMAGES = 500
DEFAULT_COMPARISON = "ae-conv-fashion"  # the plain autoencoder the lab compares its DAE with at first
IDENTICAL_PSNR = 100.0  # what metrics.psnr gives identical images (their MSE is clamped at 1e-10)
PCA_SIZES = (2, 4, 8, 16, 32, 64, 128, 256)  # where the Autoencoders lesson draws PCA, besides every
# autoencoder's own code size (bottleneck_sizes)


def bottleneck_sizes(code_sizes) -> tuple[int, ...]:
    """The code sizes at which to draw PCA: the usual ladder and every autoencoder's own size, so
    that each autoencoder on the chart has PCA of its size beside it."""
    return tuple(sorted(set(PCA_SIZES) | set(code_sizes)))


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


# --------------------------------------------------------------------------------------------
# Is a picture like the training images? A distance in a feature classifier's space
# --------------------------------------------------------------------------------------------

def familiarity_classifier_path(checkpoint_dir: str | Path, dataset: str) -> Path:
    """The classifier whose features the check uses: checkpoints/metrics/DATASET-familiarity.safetensors,
    one with pooled features (models/classifier.py says why it is not the Frechet distance's)."""
    return Path(checkpoint_dir) / "metrics" / f"{dataset}-familiarity.safetensors"


# What the check flags, measured over the shipped Fashion-MNIST classifier on held-out test images and on
# photographs, text, line drawings and gradients (tests/test_autoencoder_claims.py keeps these true; the page
# quotes them). A reconstruction error could not tell them apart: a denoiser rebuilds a smooth photo well.
FLAGGED_AT_LEAST = {"photographs": 0.8, "text": 0.7, "line drawings": 0.6, "gradients": 0.9}
FLAGGED_TEST_AT_MOST = 0.02
FAMILIAR_QUANTILE = 0.99
# Images the check is fitted on: training images for mu and Sigma (its 64 features need far fewer), test
# images for the threshold (the first half) and the share flagged (the second). Enough for the rates
# above, and a few seconds of a small CNN on a CPU (all 70,000 images took a busy 2-core server a minute).
FAMILIAR_TRAIN, FAMILIAR_TEST = 10_000, 4_000


@dataclass(frozen=True)
class Familiarity:
    """The squared Mahalanobis distance d(x) = (f(x) - mu)^T Sigma^-1 (f(x) - mu) of an image's
    features f(x) (a classifier trained on the dataset) from the training images' features
    (mean mu, covariance Sigma), and the threshold under which FAMILIAR_QUANTILE of test images
    fall (Lee et al. 2018 use the same distance to spot inputs unlike the training data)."""

    mean: torch.Tensor  # (D,)
    precision: torch.Tensor  # (D, D), Sigma^-1
    threshold: float
    held_out_flagged: float  # the share of other test images (not used for the threshold) above it

    def ratios(self, features: torch.Tensor) -> torch.Tensor:
        """Features (N, D) -> d(x) / threshold (N,): above 1 is unlike the training images."""
        centred = features - self.mean
        return ((centred @ self.precision) * centred).sum(dim=1) / self.threshold


def fit_familiarity(train_features: torch.Tensor, test_features: torch.Tensor) -> Familiarity:
    """Fit mu and Sigma on training features (N, D); set the threshold on the first half of the test
    features and measure the share flagged on the second half."""
    mean = train_features.mean(dim=0)
    centred = train_features - mean
    # A small ridge keeps Sigma invertible when a feature hardly varies.
    covariance = centred.T @ centred / len(centred) + 1e-3 * torch.eye(centred.shape[1])
    precision = torch.linalg.inv(covariance)
    calibration, held_out = test_features.chunk(2)
    unscaled = Familiarity(mean, precision, 1.0, 0.0)
    threshold = torch.quantile(unscaled.ratios(calibration), FAMILIAR_QUANTILE).item()
    flagged = (unscaled.ratios(held_out) > threshold).float().mean().item()
    return Familiarity(mean, precision, threshold, flagged)
