"""Sample quality for image generators: a Frechet distance on the features of a small classifier.

FID (Heusel et al., 2017) embeds real and generated images with Inception-v3, fits a Gaussian to
each set of embeddings and reports the Frechet distance between the two Gaussians
(``metrics.frechet_distance``). Inception is a 100 MB network for 299x299 colour photos; for 28x28
grey garments we train a small CNN on the dataset's own labels and use its penultimate features
instead. The numbers are therefore on their own scale, not comparable with published FIDs. To give
them one, every report carries a **floor**: the same distance between as many real *training*
images and the test set, which is what a perfect generator would score (not 0: two finite samples
of the same distribution still differ).

The classifier ships in ``checkpoints/metrics/`` (not beside the models, so model pickers never
list it), made by ``python -m genmodels classifier``. It is loaded with the same checks as a model
checkpoint: the header is validated and every tensor's dtype and shape compared with what the
config builds before anything is allocated.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import safetensors.torch
import torch
import torch.nn.functional as F
from torch import nn

import genmodels
from genmodels.checkpoints import DTYPE_NAMES, check_tensors, parse_header, parse_json, write_atomically
from genmodels.configs import check_int, from_dict, to_dict
from genmodels.data import Dataset, batch_indices
from genmodels.errors import CheckpointError, ConfigError
from genmodels.metrics import feature_statistics, frechet_distance
from genmodels.models.common import init_default

METADATA_KEY = "genmodels_classifier"
DEFAULT_SAMPLES = 5000  # FID is biased by the sample count: compare numbers made with the same count


@dataclass(frozen=True)
class ClassifierConfig:
    channels: int = 1
    image_size: int = 28
    classes: int = 10
    width: int = 32  # channels of the first convolution; the two after it have twice as many

    def __post_init__(self):
        check_int("channels", self.channels, 1, 4)
        check_int("image_size", self.image_size, 8, 64)
        check_int("classes", self.classes, 2, 100)
        check_int("width", self.width, 4, 128)

    @property
    def features(self) -> int:
        return 2 * self.width


class FeatureClassifier(nn.Module):
    """Three 3x3 convolutions, global average pooling, a linear head. ``embed`` gives the pooled
    features (the Frechet distance's embedding), ``forward`` the class logits."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = config
        c, w = config.channels, config.width
        self.body = nn.Sequential(
            nn.Conv2d(c, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, w, s/2, s/2)
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 2w, s/4, s/4)
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(),  # (B, 2w, s/4, s/4)
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # (B, 2w): one number per feature map
        )
        self.head = nn.Linear(2 * w, config.classes)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1] -> features (B, 2w)."""
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1] -> class logits (B, classes)."""
        return self.head(self.embed(images))


@dataclass(frozen=True)
class LoadedClassifier:
    model: FeatureClassifier
    dataset: str
    class_names: tuple[str, ...]
    test_accuracy: float


# --------------------------------------------------------------------------------------------
# Training, saving, loading
# --------------------------------------------------------------------------------------------

def train_classifier(data: Dataset, epochs: int = 5, batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
                     width: int = 32) -> tuple[FeatureClassifier, float]:
    """Train on ``data``'s labelled training split (on its device); returns the model (in eval
    mode) and its test accuracy."""
    from genmodels.training import adam

    if data.kind != "image":
        raise ConfigError(f"the feature classifier needs images; {data.name} holds points")
    config = ClassifierConfig(channels=data.channels, image_size=data.image_size, classes=len(data.class_names),
                              width=width)
    with torch.device("meta"):  # built empty, then initialised from a seeded generator (not the global one)
        model = FeatureClassifier(config)
    model = model.to_empty(device=data.device)
    init_default(model, torch.Generator().manual_seed(seed))
    optimizer = adam(model.parameters(), lr, data.device)
    shuffle = torch.Generator(device=data.device).manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for index in batch_indices(len(data.train_x), batch_size, shuffle, data.device):
            loss = F.cross_entropy(model(data.train_x[index]), data.train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    return model, accuracy(model, data.test_x, data.test_y)


@torch.no_grad()
def accuracy(model: FeatureClassifier, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    correct = sum((model(x).argmax(1) == y).sum().item() for x, y in zip(images.split(batch_size),
                                                                         labels.split(batch_size)))
    return correct / len(images)


def save_classifier(path: str | Path, loaded: LoadedClassifier) -> Path:
    document = {"format_version": 1, "config": to_dict(loaded.model.config), "dataset": loaded.dataset,
                "class_names": list(loaded.class_names), "test_accuracy": loaded.test_accuracy,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "package_version": genmodels.__version__}
    tensors = {k: v.detach().cpu().contiguous() for k, v in loaded.model.state_dict().items()}
    return write_atomically(path, safetensors.torch.save(tensors, metadata={METADATA_KEY: json.dumps(document)}))


def load_classifier(path: str | Path) -> LoadedClassifier:
    """Validate and load a classifier file; raises CheckpointError naming what is wrong."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"cannot read the feature classifier {path}: {error.strerror or error}") from None
    try:
        header, data_start = parse_header(data)
        metadata = header.get("__metadata__") or {}
        document = parse_json(metadata.get(METADATA_KEY), "the classifier metadata") if METADATA_KEY in metadata \
            else None
        if not isinstance(document, dict) or document.get("format_version") != 1:
            raise CheckpointError("it is not a genmodels feature classifier (no classifier metadata)")
        config = from_dict(ClassifierConfig, document.get("config"))
        with torch.device("meta"):  # the expected tensors, without allocating them
            expected = {k: (DTYPE_NAMES[v.dtype], tuple(v.shape))
                        for k, v in FeatureClassifier(config).state_dict().items()}
        check_tensors(header, expected, len(data) - data_start)
        names = document.get("class_names")
        if not (isinstance(names, list) and len(names) == config.classes and all(isinstance(n, str) for n in names)):
            raise CheckpointError("the classifier's class names do not match its class count")
        tensors = safetensors.torch.load(data)
    except CheckpointError as error:
        raise CheckpointError(f"{path.name}: {error}") from None
    except (ConfigError, TypeError, ValueError, KeyError, AttributeError) as error:
        raise CheckpointError(f"{path.name}: the classifier file is malformed ({error})") from None
    with torch.device("meta"):
        model = FeatureClassifier(config)
    model = model.to_empty(device="cpu")
    model.load_state_dict(tensors, strict=True)
    test_accuracy = document.get("test_accuracy")
    return LoadedClassifier(model=model.eval(), dataset=str(document.get("dataset", "")), class_names=tuple(names),
                            test_accuracy=float(test_accuracy) if isinstance(test_accuracy, (int, float)) else math.nan)


def classifier_path(checkpoint_dir: str | Path, dataset: str) -> Path:
    """Where the feature classifier for ``dataset`` lives: checkpoints/metrics/DATASET-classifier.safetensors."""
    return Path(checkpoint_dir) / "metrics" / f"{dataset}-classifier.safetensors"


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
