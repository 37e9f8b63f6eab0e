"""Sample quality for image generators: a Frechet distance on the features of a small classifier.

FID (Heusel et al., 2017) embeds real and generated images with Inception-v3, fits a Gaussian to
each set of embeddings and reports the Frechet distance between the two Gaussians
(``frechet_distance`` below). Inception is a 100 MB network for 299x299 colour photos; for 28x28
grey garments we train a small CNN on the dataset's own labels and use its penultimate features
instead. The numbers are therefore on their own scale, not comparable with published FIDs. To give
them one, every report carries a **floor**: the same distance between as many real *training*
images and the test set, which is what a perfect generator would score (not 0: two finite samples
of the same distribution still differ).

The classifier ships in ``checkpoints/metrics/`` (not beside the models, so model pickers never
list it), made by ``python -m genmodels classifier`` (models/classifier.py). It is loaded with the
same checks as a model checkpoint: the header is validated and every tensor's dtype and shape compared with what the
config builds before anything is allocated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from genmodels.checkpoints import LoadedCheckpoint, load_checkpoint
from genmodels.data import Dataset
from genmodels.errors import CheckpointError
from genmodels.models.classifier import FeatureClassifier

DEFAULT_SAMPLES = 5000  # FID is biased by the sample count: compare numbers made with the same count


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
# The feature classifier's file
# --------------------------------------------------------------------------------------------

def classifier_path(checkpoint_dir: str | Path, dataset: str) -> Path:
    """Where the feature classifier for ``dataset`` lives: checkpoints/metrics/DATASET-classifier.safetensors."""
    return Path(checkpoint_dir) / "metrics" / f"{dataset}-classifier.safetensors"


def load_classifier(path: str | Path) -> LoadedCheckpoint:
    """A feature classifier's checkpoint (checked like every checkpoint), refusing any other family."""
    loaded = load_checkpoint(path)
    if loaded.info.family != "classifier":
        raise CheckpointError(f"{Path(path).name}: it holds a {loaded.info.family} model, not a feature classifier")
    return loaded


# --------------------------------------------------------------------------------------------
# The sample-quality report
# --------------------------------------------------------------------------------------------

@torch.no_grad()
def embed(classifier: FeatureClassifier, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Images (N, C, H, W) in [0, 1], on any device -> features (N, D) on the CPU."""
    device = next(classifier.parameters()).device
    return torch.cat([classifier.embed(x.to(device).float()).cpu() for x in images.split(batch_size)])


@dataclass(frozen=True)
class RealStatistics:
    """What a sample-quality report compares against: the test set's feature Gaussian, and the
    floor for ``samples`` images (real training images against the test set)."""

    mean: torch.Tensor  # (D,)
    cov: torch.Tensor  # (D, D)
    floor: float
    samples: int


def real_statistics(classifier: FeatureClassifier, data: Dataset, samples: int = DEFAULT_SAMPLES,
                    seed: int = 0) -> RealStatistics:
    mean, cov = feature_statistics(embed(classifier, data.test_x))
    pick = torch.randperm(len(data.train_x), generator=torch.Generator().manual_seed(seed))[:samples]
    train_mean, train_cov = feature_statistics(embed(classifier, data.train_x[pick.to(data.device)]))
    return RealStatistics(mean, cov, frechet_distance(train_mean, train_cov, mean, cov), min(samples, len(pick)))


@dataclass(frozen=True)
class SampleQuality:
    frechet: float  # generated samples against the test set; lower is better
    floor: float  # real training images against the test set: the best a generator can hope for
    samples: int
    class_shares: tuple[float, ...]  # the share of samples the classifier puts in each class

    @property
    def effective_classes(self) -> float:
        """exp(entropy) of the class shares: 10 when samples spread evenly over 10 classes, 1 when
        every sample is one class (a mode-collapse symptom)."""
        entropy = -sum(p * math.log(p) for p in self.class_shares if p > 0)
        return math.exp(entropy)


@torch.no_grad()
def sample_quality(model, classifier: FeatureClassifier, reference: RealStatistics, seed: int = 0,
                   batch_size: int = 500) -> SampleQuality:
    """Draw ``reference.samples`` images from a generator (anything with ``sample(n, generator=)``
    returning [0, 1] images) and score them against the real statistics."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    images = torch.cat([model.sample(min(batch_size, reference.samples - start), generator=generator).float()
                        for start in range(0, reference.samples, batch_size)])
    features = embed(classifier, images)
    mean, cov = feature_statistics(features)
    predicted = classifier.head(features.to(next(classifier.parameters()).device)).argmax(1).cpu()
    shares = torch.bincount(predicted, minlength=classifier.config.classes).double() / len(predicted)
    return SampleQuality(frechet=frechet_distance(mean, cov, reference.mean, reference.cov), floor=reference.floor,
                         samples=len(images), class_shares=tuple(shares.tolist()))
