"""Variational autoencoder (Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014).

The encoder maps an image x to the parameters of a Gaussian posterior q(z|x) = N(mu, diag(sigma^2));
a code is drawn with the reparameterisation trick z = mu + sigma * eps, eps ~ N(0, I), so the
sample is a differentiable function of (mu, sigma); the decoder maps z to Bernoulli pixel logits.
Training maximises the ELBO = E_q[log p(x|z)] - beta * KL(q(z|x) || N(0, I)) (see losses.py).
Because the KL term pulls every posterior towards the same prior, codes fill the latent plane with
no holes, so any z near the origin decodes to a plausible image: ``sample`` relies on that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from genmodels.configs import check_choice, check_float, check_int, check_widths
from genmodels.errors import ConfigError
from genmodels.i18n import L_
from genmodels.models.autoencoder import mlp
from genmodels.models.common import check_image_shape, init_default, randn


@dataclass(frozen=True)
class VAEConfig:
    arch: str = "mlp"  # "mlp" (the classic 784-400-20) or "conv"
    channels: int = 1
    image_size: int = 28
    hidden: tuple[int, ...] = (400,)  # MLP layer widths; conv: channels of the two conv layers
    latent_dim: int = 20
    beta: float = 1.0  # weight on the KL term; 1 is the plain VAE

    def __post_init__(self):
        check_choice("arch", self.arch, ("mlp", "conv"))
        check_image_shape(self.channels, self.image_size)
        if self.arch == "conv":
            check_widths("hidden", self.hidden, 4, 256, max_len=2)
            if len(self.hidden) != 2:
                raise ConfigError(L_("a conv VAE needs two channel counts, e.g. (32, 64); got {value}",
                                     value=repr(self.hidden)))
        else:
            check_widths("hidden", self.hidden, 2, 4096, max_len=4)
            if not self.hidden:
                raise ConfigError(L_("an MLP VAE needs at least one hidden layer, e.g. (400,)"))
        check_int("latent_dim", self.latent_dim, 1, 512)
        check_float("beta", self.beta, 0.0, 100.0)


class Posterior(NamedTuple):
    mu: torch.Tensor  # (B, latent_dim)
    logvar: torch.Tensor  # (B, latent_dim), log sigma^2


class VAEOutput(NamedTuple):
    logits: torch.Tensor  # (B, C, H, W) Bernoulli logits of the reconstruction
    mu: torch.Tensor  # (B, latent_dim)
    logvar: torch.Tensor  # (B, latent_dim)
    z: torch.Tensor  # (B, latent_dim), the reparameterised sample


class VAE(nn.Module):
    def __init__(self, config: VAEConfig, generator: torch.Generator | None = None):
        super().__init__()
        self.config = config
        c, s = config.channels, config.image_size
        self.image_shape = (c, s, s)
        pixels = c * s * s
        if config.arch == "mlp":
            # (B, C, H, W) -> (B, C*H*W) -> hidden... (ReLU) -> (B, hidden[-1])
            self.encoder = nn.Sequential(nn.Flatten(), mlp([pixels, *config.hidden], True))
            features = config.hidden[-1]
            # (B, latent) -> hidden reversed -> (B, C*H*W) logits -> (B, C, H, W)
            self.decoder = nn.Sequential(
                mlp([config.latent_dim, *reversed(config.hidden), pixels], False),
                nn.Unflatten(1, self.image_shape),
            )
        else:
            ch1, ch2 = config.hidden
            quarter = s // 4  # 28 -> 14 -> 7, 32 -> 16 -> 8
            self.encoder = nn.Sequential(
                nn.Conv2d(c, ch1, 4, stride=2, padding=1), nn.ReLU(),  # (B, ch1, s/2, s/2)
                nn.Conv2d(ch1, ch2, 4, stride=2, padding=1), nn.ReLU(),  # (B, ch2, s/4, s/4)
                nn.Flatten(),  # (B, ch2 * (s/4)^2)
            )
            features = ch2 * quarter * quarter
            self.decoder = nn.Sequential(
                nn.Linear(config.latent_dim, features), nn.ReLU(),
                nn.Unflatten(1, (ch2, quarter, quarter)),  # (B, ch2, s/4, s/4)
                nn.ConvTranspose2d(ch2, ch1, 4, stride=2, padding=1), nn.ReLU(),  # (B, ch1, s/2, s/2)
                nn.ConvTranspose2d(ch1, c, 4, stride=2, padding=1),  # (B, C, s, s) logits
            )
        # The posterior's head on the shared features: one layer whose first latent_dim outputs are
        # the mean and last latent_dim the log-variance. One (F, 2 * latent_dim) matmul instead of
        # two (F, latent_dim) ones made an MLP VAE training step 3% faster on 2 CPU cores.
        self.to_posterior = nn.Linear(features, 2 * config.latent_dim)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Initialise every weight from ``generator`` (see models/common.py)."""
        init_default(self, generator)

    def encode(self, x: torch.Tensor) -> Posterior:
        """Images (B, C, H, W) in [0, 1] -> posterior parameters, each (B, latent_dim)."""
        features = self.encoder(x)
        mu, logvar = self.to_posterior(features).chunk(2, dim=1)  # (B, 2 * latent_dim) -> 2 x (B, latent_dim)
        return Posterior(mu=mu, logvar=logvar)

    def reparameterize(self, mu, logvar, generator: torch.Generator | None = None) -> torch.Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I) and sigma = exp(logvar / 2): a sample from
        q(z|x) through which gradients flow to mu and logvar."""
        mu, logvar = mu.float(), logvar.float()  # under bf16 autocast, draw and combine in fp32
        eps = randn(mu.shape, generator, like=mu)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (B, latent_dim) -> pixel logits (B, C, H, W)."""
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (B, latent_dim) -> images in [0, 1] (the Bernoulli means)."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, generator)
        return VAEOutput(logits=self.decode_logits(z), mu=mu, logvar=logvar, z=z)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decode the posterior mean: the VAE's deterministic reconstruction, in [0, 1]."""
        return self.decode(self.encode(x).mu)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images decoded from z ~ N(0, I): (n, C, H, W) in [0, 1]."""
        weight = self.to_posterior.weight
        z = torch.randn((n, self.config.latent_dim), generator=generator, device=weight.device, dtype=weight.dtype)
        return self.decode(z)


class PointVAE(nn.Module):
    """A VAE for 2-D points (the Compare page's toy): the MLP VAE above with a Gaussian decoder,
    p(x|z) = N(decoder(z), sigma^2 I) for a fixed sigma, in place of Bernoulli pixels
    (losses.point_negative_elbo). (B, 2) -> hidden (ReLU) -> (mu, logvar) of a latent_dim code;
    code -> hidden reversed -> (B, 2) mean."""

    def __init__(self, hidden: tuple[int, ...] = (128, 128), latent_dim: int = 2, sigma: float = 0.1,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.latent_dim, self.sigma = latent_dim, sigma
        self.encoder = mlp([2, *hidden], True)
        self.to_posterior = nn.Linear(hidden[-1], 2 * latent_dim)
        self.decoder = mlp([latent_dim, *reversed(hidden), 2], False)
        init_default(self, generator)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        """As VAE.forward; ``logits`` holds the decoded means (B, 2)."""
        mu, logvar = self.to_posterior(self.encoder(x)).chunk(2, dim=1)  # 2 x (B, latent_dim)
        z = mu + torch.exp(0.5 * logvar) * randn(mu.shape, generator, like=mu)
        return VAEOutput(logits=self.decoder(z), mu=mu, logvar=logvar, z=z)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points decoded from z ~ N(0, I) (the means of p(x|z), as the image VAE shows its
        Bernoulli means): (n, 2)."""
        weight = self.to_posterior.weight
        z = torch.randn((n, self.latent_dim), generator=generator, device=weight.device, dtype=weight.dtype)
        return self.decoder(z)
