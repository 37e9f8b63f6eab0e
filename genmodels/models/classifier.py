"""The feature classifier: a small CNN trained on the dataset's labels, whose penultimate features
are the Frechet distance's embedding (metrics/frechet.py). It is a family like the others
(registry "classifier", trained by the same loop with training/steps.classifier_step, saved as a
checkpoint like every model) that the pages do not list: it ships in ``checkpoints/metrics/``,
made by ``python -m genmodels classifier``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genmodels.configs import check_int
from genmodels.models.common import init_default


@dataclass(frozen=True)
class ClassifierConfig:
    channels: int = 1
    image_size: int = 28
    classes: int = 10
    width: int = 32  # channels of the first convolution; the two after it have twice as many
    hidden: int = 0  # 0: the features are the last maps' averages; N: a hidden layer of N units over the maps

    def __post_init__(self):
        check_int("channels", self.channels, 1, 4)
        check_int("image_size", self.image_size, 8, 64)
        check_int("classes", self.classes, 2, 100)
        check_int("width", self.width, 4, 128)
        check_int("hidden", self.hidden, 0, 1024)

    @property
    def features(self) -> int:
        return self.hidden or 2 * self.width


class FeatureClassifier(nn.Module):
    """Three 3x3 convolutions, then the features, then a linear head. ``embed`` gives the features,
    ``forward`` the class logits. Two ways to the features, for two jobs:

    - pooled (hidden = 0): global average pooling, one number per feature map. It keeps which
      patterns an image holds wherever they are, which tells a garment from a photograph, a page of
      text or a line drawing: the Denoising lab's familiarity check (lessons/denoising.py) uses it.
      Only 81% test accuracy on Fashion-MNIST, though.
    - hidden (hidden = N): a hidden layer of N units over the flattened maps, so it also sees where
      on the picture each pattern is: 91% test accuracy, the Frechet distance's classifier (as FID
      takes Inception's last hidden layer). Its features flag only 7% of photographs as unfamiliar.
    """

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = config
        c, w = config.channels, config.width
        self.body = nn.Sequential(
            nn.Conv2d(c, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, w, s/2, s/2)
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 2w, s/4, s/4)
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(),  # (B, 2w, s/4, s/4)
        )
        if config.hidden:
            self.body.extend([nn.Flatten(),  # (B, 2w (s/4)^2)
                              nn.Linear(2 * w * (config.image_size // 4) ** 2, config.hidden), nn.ReLU()])  # (B, N)
        else:
            self.body.extend([nn.AdaptiveAvgPool2d(1), nn.Flatten()])  # (B, 2w): one number per feature map
        self.head = nn.Linear(config.features, config.classes)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Initialise every weight from ``generator`` (see models/common.py)."""
        init_default(self, generator)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1] -> features (B, config.features)."""
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1] -> class logits (B, classes)."""
        return self.head(self.embed(images))
