"""Small pieces every family shares: seeded weight initialisation and image-shape checks.

Weights are initialised from an explicit ``torch.Generator`` so that a seed on a page reproduces a
model without touching torch's global random state (several jobs train at once in one process).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from genmodels.errors import ConfigError
from genmodels.i18n import L_

# Datasets are square images of one of these sizes with 1 (grey) or 3 (colour) channels.
IMAGE_SIZES = (28, 32)
CHANNELS = (1, 3)


def check_image_shape(channels: int, image_size: int) -> None:
    if channels not in CHANNELS:
        raise ConfigError(L_("{name} must be one of {valid}; got {value}", name="channels", valid=CHANNELS,
                             value=repr(channels)))
    if image_size not in IMAGE_SIZES:
        raise ConfigError(L_("{name} must be one of {valid}; got {value}", name="image_size", valid=IMAGE_SIZES,
                             value=repr(image_size)))


def has_values(module: nn.Module) -> bool:
    """False for a module built on the meta device (shapes only, as checkpoint loading builds
    them): there is nothing to initialise, and torch's meta-device init functions run slow Python
    reference code (about a second on first use), which would delay every first page visit."""
    return not any(p.is_meta for p in module.parameters())


def init_default(module: nn.Module, generator: torch.Generator | None) -> None:
    """Re-initialise every Linear/Conv layer as PyTorch does by default (Kaiming-uniform weights
    with a=sqrt(5), biases uniform in +-1/sqrt(fan_in)), but drawing from ``generator``."""
    if not has_values(module):
        return
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.reset_parameters()  # scale 1, shift 0, fresh running statistics
        elif isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            if layer.bias is not None:
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(layer.weight)
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def init_dcgan(module: nn.Module, generator: torch.Generator | None) -> None:
    """DCGAN initialisation (Radford et al. 2015, section 4): conv and linear weights ~ N(0, 0.02),
    batch-norm scales ~ N(1, 0.02), all biases 0."""
    if not has_values(module):
        return
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, 0.02, generator=generator)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            layer.reset_running_stats()
            nn.init.normal_(layer.weight, 1.0, 0.02, generator=generator)
            nn.init.zeros_(layer.bias)


def randn(shape, generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """Standard normal noise of ``shape`` on ``like``'s device and dtype, drawn from ``generator``."""
    return torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
