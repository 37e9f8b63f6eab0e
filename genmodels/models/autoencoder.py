"""Autoencoders: plain (`ae`), sparse (`sparse_ae`) and denoising (`dae`).

All three are the same network: an encoder squeezes an image x into a code h, a decoder maps h back
to an image x_hat. What differs is the training objective, and that difference is the lesson:

- ae:        minimise reconstruction error BCE(x_hat, x)
- sparse_ae: the code layer is a sigmoid, and a KL penalty pushes each code unit's mean activation
             over a batch towards a small target rho (Ng, "Sparse autoencoder", CS294A notes, 2011)
- dae:       the encoder sees a corrupted copy x~ = corrupt(x) and must reproduce the clean x
             (Vincent et al., "Extracting and composing robust features with denoising
             autoencoders", ICML 2008)

"Stacked" (several hidden layers, `hidden`) and "sparse" (a penalty on activations) are different
ideas: an MLP autoencoder here may be both, either or neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from genmodels.configs import check_choice, check_float, check_int, check_widths
from genmodels.corruption import CORRUPTIONS
from genmodels.errors import ConfigError
from genmodels.i18n import L_
from genmodels.models.common import check_image_shape, init_default


@dataclass(frozen=True)
class AutoencoderConfig:
    arch: str = "mlp"  # "mlp": stacked fully connected layers; "conv": two strided convolutions
    channels: int = 1
    image_size: int = 28
    # MLP: widths of the hidden layers between the image and the code, e.g. (256, 128) makes
    # 784-256-128-latent. Conv: the channels of the two conv layers, e.g. (32, 64).
    hidden: tuple[int, ...] = (256, 128)
    latent_dim: int = 32
    code_activation: str = "linear"  # "sigmoid" for the sparse autoencoder (codes in (0, 1))
    # Sparse autoencoder: target mean activation rho and penalty weight beta (0 disables it).
    sparsity_target: float = 0.05
    sparsity_weight: float = 0.0
    # Denoising autoencoder: the corruption applied to training inputs and its strength.
    corruption: str = "none"
    noise_level: float = 0.0

    def __post_init__(self):
        check_choice("arch", self.arch, ("mlp", "conv"))
        check_image_shape(self.channels, self.image_size)
        if self.arch == "conv":
            check_widths("hidden", self.hidden, 4, 256, max_len=2)
            if len(self.hidden) != 2:
                raise ConfigError(L_("a conv autoencoder needs two channel counts, e.g. (32, 64); got {value}",
                                     value=repr(self.hidden)))
        else:
            check_widths("hidden", self.hidden, 2, 4096, max_len=4)
        check_int("latent_dim", self.latent_dim, 1, 1024)
        check_choice("code_activation", self.code_activation, ("linear", "sigmoid"))
        check_float("sparsity_target", self.sparsity_target, 0.001, 0.999)
        check_float("sparsity_weight", self.sparsity_weight, 0.0, 100.0)
        if self.sparsity_weight > 0 and self.code_activation != "sigmoid":
            raise ConfigError(L_("the sparsity penalty needs code_activation='sigmoid' (codes in (0, 1))"))
        check_choice("corruption", self.corruption, CORRUPTIONS)
        check_float("noise_level", self.noise_level, 0.0, 1.0)


class AutoencoderOutput(NamedTuple):
    code: torch.Tensor  # (B, latent_dim)
    logits: torch.Tensor  # (B, C, H, W) reconstruction logits; sigmoid gives pixels in [0, 1]


def mlp(widths: list[int], final_activation: bool) -> nn.Sequential:
    """Linear layers between consecutive widths with ReLU in between (and after the last if asked)."""
    layers: list[nn.Module] = []
    for i, (w_in, w_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(w_in, w_out))
        if i < len(widths) - 2 or final_activation:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    def __init__(self, config: AutoencoderConfig, generator: torch.Generator | None = None):
        super().__init__()
        self.config = config
        c, s = config.channels, config.image_size
        self.image_shape = (c, s, s)
        pixels = c * s * s
        if config.arch == "mlp":
            # (B, C, H, W) -> (B, C*H*W) -> hidden... -> (B, latent)
            self.encoder = nn.Sequential(nn.Flatten(), mlp([pixels, *config.hidden, config.latent_dim], False))
            # (B, latent) -> ...hidden reversed -> (B, C*H*W) -> (B, C, H, W)
            self.decoder = nn.Sequential(
                mlp([config.latent_dim, *reversed(config.hidden), pixels], False),
                nn.Unflatten(1, self.image_shape),
            )
        else:
            ch1, ch2 = config.hidden
            quarter = s // 4  # two stride-2 convolutions: 28 -> 14 -> 7, 32 -> 16 -> 8
            self.encoder = nn.Sequential(
                nn.Conv2d(c, ch1, 4, stride=2, padding=1), nn.ReLU(),  # (B, ch1, s/2, s/2)
                nn.Conv2d(ch1, ch2, 4, stride=2, padding=1), nn.ReLU(),  # (B, ch2, s/4, s/4)
                nn.Flatten(),  # (B, ch2 * s/4 * s/4)
                nn.Linear(ch2 * quarter * quarter, config.latent_dim),  # (B, latent)
            )
            self.decoder = nn.Sequential(
                nn.Linear(config.latent_dim, ch2 * quarter * quarter), nn.ReLU(),
                nn.Unflatten(1, (ch2, quarter, quarter)),  # (B, ch2, s/4, s/4)
                nn.ConvTranspose2d(ch2, ch1, 4, stride=2, padding=1), nn.ReLU(),  # (B, ch1, s/2, s/2)
                nn.ConvTranspose2d(ch1, c, 4, stride=2, padding=1),  # (B, C, s, s) logits
            )
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Initialise every weight from ``generator`` (see models/common.py)."""
        init_default(self, generator)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1] -> codes (B, latent_dim)."""
        pre_activation = self.encoder(x)
        if self.config.code_activation == "sigmoid":
            return torch.sigmoid(pre_activation)
        return pre_activation

    def decode_logits(self, code: torch.Tensor) -> torch.Tensor:
        """Codes (B, latent_dim) -> reconstruction logits (B, C, H, W)."""
        return self.decoder(code)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """Codes (B, latent_dim) -> images (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(code))

    def forward(self, x: torch.Tensor) -> AutoencoderOutput:
        code = self.encode(x)
        return AutoencoderOutput(code=code, logits=self.decode_logits(code))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] -> their reconstructions in [0, 1], same shape."""
        return self.decode(self.encode(x))
