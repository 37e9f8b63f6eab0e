"""Generative adversarial networks (Goodfellow et al., "Generative Adversarial Nets", 2014).

A generator G maps noise z ~ N(0, I) to data; a discriminator D maps data to one logit, "how real
does this look". They are trained in turns (see training.py: D on real and detached fake data,
then G through D). Two families share this file:

- gan:   MLP generator and discriminator, for flattened images or for 2-D points (the toys);
- dcgan: convolutional, after Radford et al., "Unsupervised Representation Learning with Deep
         Convolutional GANs", 2015: strided (transposed) convolutions, batch norm, ReLU in G,
         LeakyReLU(0.2) in D, tanh output, N(0, 0.02) initialisation.

Images live in [0, 1] everywhere else in genmodels; a GAN works in [-1, 1] (to match tanh) and
converts at its own boundary (``to_model_space`` / ``to_data_space``). Points are used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genmodels.configs import check_choice, check_int
from genmodels.errors import ConfigError
from genmodels.i18n import L_
from genmodels.models.common import check_image_shape, init_dcgan, init_default

GAN_LOSSES = ("non_saturating", "least_squares")


@dataclass(frozen=True)
class GANConfig:
    arch: str = "mlp"  # "mlp" (family gan) or "conv" (family dcgan)
    data: str = "image"  # "image" or "points" (2-D toys; MLP only)
    channels: int = 1
    image_size: int = 28
    latent_dim: int = 64
    g_hidden: int = 256  # MLP: width of G's hidden layers; conv: G's base channel count
    g_depth: int = 2  # MLP: number of hidden layers in G (conv: fixed at two upsampling layers)
    d_hidden: int = 256
    d_depth: int = 2
    loss: str = "non_saturating"
    d_steps: int = 1  # discriminator updates per generator update

    def __post_init__(self):
        check_choice("arch", self.arch, ("mlp", "conv"))
        check_choice("data", self.data, ("image", "points"))
        if self.data == "points" and self.arch == "conv":
            raise ConfigError(L_("2-D point datasets need arch='mlp' (the gan family), not a DCGAN"))
        check_image_shape(self.channels, self.image_size)
        check_int("latent_dim", self.latent_dim, 1, 512)
        check_int("g_hidden", self.g_hidden, 2, 2048)
        check_int("d_hidden", self.d_hidden, 2, 2048)
        check_int("g_depth", self.g_depth, 1, 6)
        check_int("d_depth", self.d_depth, 1, 6)
        check_choice("loss", self.loss, GAN_LOSSES)
        check_int("d_steps", self.d_steps, 1, 10)

    @property
    def data_shape(self) -> tuple[int, ...]:
        if self.data == "points":
            return (2,)
        return (self.channels, self.image_size, self.image_size)


def mlp_generator(config: GANConfig, out_features: int, squash: bool) -> nn.Sequential:
    """z (B, latent) -> g_depth x [Linear, ReLU] -> Linear -> (B, out_features), tanh for images."""
    layers: list[nn.Module] = []
    width_in = config.latent_dim
    for _ in range(config.g_depth):
        layers += [nn.Linear(width_in, config.g_hidden), nn.ReLU()]
        width_in = config.g_hidden
    layers.append(nn.Linear(width_in, out_features))
    if squash:
        layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def mlp_discriminator(config: GANConfig, in_features: int) -> nn.Sequential:
    """x (B, in_features) -> d_depth x [Linear, LeakyReLU(0.2)] -> Linear -> (B, 1) logit."""
    layers: list[nn.Module] = []
    width_in = in_features
    for _ in range(config.d_depth):
        layers += [nn.Linear(width_in, config.d_hidden), nn.LeakyReLU(0.2)]
        width_in = config.d_hidden
    layers.append(nn.Linear(width_in, 1))
    return nn.Sequential(*layers)


def conv_generator(config: GANConfig) -> nn.Sequential:
    c, s, h = config.channels, config.image_size, config.g_hidden
    quarter = s // 4  # two stride-2 upsamplings: 7 -> 14 -> 28, 8 -> 16 -> 32
    return nn.Sequential(
        nn.Linear(config.latent_dim, 2 * h * quarter * quarter, bias=False),
        nn.Unflatten(1, (2 * h, quarter, quarter)),  # (B, 2h, s/4, s/4)
        nn.BatchNorm2d(2 * h), nn.ReLU(),
        nn.ConvTranspose2d(2 * h, h, 4, stride=2, padding=1, bias=False),  # (B, h, s/2, s/2)
        nn.BatchNorm2d(h), nn.ReLU(),
        nn.ConvTranspose2d(h, c, 4, stride=2, padding=1),  # (B, C, s, s)
        nn.Tanh(),
    )


def conv_discriminator(config: GANConfig) -> nn.Sequential:
    c, s, h = config.channels, config.image_size, config.d_hidden
    quarter = s // 4
    return nn.Sequential(
        nn.Conv2d(c, h, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # (B, h, s/2, s/2); no BN on input
        nn.Conv2d(h, 2 * h, 4, stride=2, padding=1, bias=False),  # (B, 2h, s/4, s/4)
        nn.BatchNorm2d(2 * h), nn.LeakyReLU(0.2),
        nn.Flatten(),  # (B, 2h * (s/4)^2)
        nn.Linear(2 * h * quarter * quarter, 1),  # (B, 1) logit
    )


class GAN(nn.Module):
    def __init__(self, config: GANConfig, generator: torch.Generator | None = None):
        super().__init__()
        self.config = config
        self.data_shape = config.data_shape
        if config.arch == "conv":
            self.generator = conv_generator(config)
            self.discriminator = conv_discriminator(config)
        else:
            features = 1
            for size in self.data_shape:
                features *= size
            images = config.data == "image"
            self.generator = nn.Sequential(
                mlp_generator(config, features, squash=images),
                nn.Unflatten(1, self.data_shape),  # (B, features) -> (B, *data_shape)
            )
            self.discriminator = nn.Sequential(nn.Flatten(), mlp_discriminator(config, features))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """DCGAN's N(0, 0.02) initialisation for the conv family, PyTorch's default for MLPs."""
        (init_dcgan if self.config.arch == "conv" else init_default)(self, generator)

    # --- the boundary between data space ([0, 1] images / raw points) and model space ---
    def to_model_space(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 - 1 if self.config.data == "image" else x

    def to_data_space(self, x: torch.Tensor) -> torch.Tensor:
        return (x + 1) / 2 if self.config.data == "image" else x

    def latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ N(0, I): (n, latent_dim) on the model's device."""
        weight = next(self.parameters())
        return torch.randn((n, self.config.latent_dim), generator=generator, device=weight.device, dtype=weight.dtype)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim) -> fakes in model space (B, *data_shape): [-1, 1] for images."""
        return self.generator(z)

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """Model-space data (B, *data_shape) -> logits (B,)."""
        return self.discriminator(x).squeeze(1)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z -> samples in data space ([0, 1] images, or 2-D points)."""
        return self.to_data_space(self.generate(z))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n samples in data space. Uses batch-norm running statistics when in eval mode."""
        return self.decode(self.latent(n, generator))
