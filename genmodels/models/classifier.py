"""The small CNN whose penultimate features the Frechet distance uses (metrics/frechet.py): its
config, the network, its training on the dataset's labels, and its file.

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
from genmodels.models.common import init_default
from genmodels.training.optim import adam

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
