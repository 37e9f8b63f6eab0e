"""The network of the two noise-to-data families, ``ddpm`` and ``flow`` (the maths is in
genmodels/diffusion.py): a function of a noisy point x_t and its time t in [0, 1] that predicts
the noise (ddpm) or the velocity (flow). The families share the network and differ only in
``config.process``, which picks the path, the target and the sampler.

- 2-D points: an MLP whose every hidden layer adds a projection of the time embedding.
- Images (28x28 grey, 32x32 colour): a small U-Net (Ronneberger et al. 2015, as Ho et al. 2020 use
  it): residual blocks with group norm and SiLU at full, half and quarter resolution, the time
  embedding added inside every block, and skip connections from the way down to the way up.

Images live in [0, 1] everywhere else in genmodels; the model works in [-1, 1] (data of the same
scale as the unit-variance noise) and converts at its own boundary, as the GAN does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genmodels import diffusion
from genmodels.configs import check_choice, check_int, check_widths
from genmodels.errors import ConfigError
from genmodels.i18n import L_
from genmodels.models.common import check_image_shape, init_default


@dataclass(frozen=True)
class DiffusionConfig:
    process: str = "ddpm"  # "ddpm" (predicts the noise) or "flow" (predicts the velocity)
    data: str = "points"  # "points" (2-D toys: MLP) or "image" (U-Net)
    channels: int = 1
    image_size: int = 28
    hidden: tuple[int, ...] = (128, 128, 128)  # MLP: hidden widths; U-Net: channels at full and half resolution
    time_dim: int = 32  # size of the sinusoidal time embedding
    schedule: str = "cosine"  # ddpm's noise schedule: "linear" or "cosine" (flow has none)
    sampler: str = "ddim"  # what sample() uses: ddpm / ddim for ddpm, euler / heun for flow
    sample_steps: int = 50  # and with how many steps

    def __post_init__(self):
        check_choice("process", self.process, diffusion.PROCESSES)
        check_choice("data", self.data, ("points", "image"))
        check_image_shape(self.channels, self.image_size)
        if self.data == "image":
            check_widths("hidden", self.hidden, 4, 256, 2)
            if len(self.hidden) != 2:
                raise ConfigError(L_("the U-Net needs two channel counts in hidden (full and half resolution); got "
                                     "{value}", value=repr(self.hidden)))
        else:
            check_widths("hidden", self.hidden, 2, 1024, 6)
            if not self.hidden:
                raise ConfigError(L_("hidden needs at least one layer width"))
        check_int("time_dim", self.time_dim, 4, 512)
        if self.time_dim % 2:
            raise ConfigError(L_("{name} must be even; got {value}", name="time_dim", value=self.time_dim))
        check_choice("schedule", self.schedule, diffusion.SCHEDULES)
        check_choice("sampler", self.sampler, diffusion.SAMPLERS[self.process])
        check_int("sample_steps", self.sample_steps, 1, diffusion.MAX_SAMPLING_STEPS)

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (2,) if self.data == "points" else (self.channels, self.image_size, self.image_size)


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of t (B,) in [0, 1], as the Transformer's positions (Vaswani et al.
    2017) and Ho et al.'s timesteps: [sin(1000 t w_k), cos(1000 t w_k)] with w_k = 10000^(-k/(dim/2)),
    k = 0..dim/2-1. The factor 1000 puts t on the scale of DDPM's step index. Returns (B, dim)."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = 1000 * t.float().view(-1, 1) * frequencies.view(1, -1)  # (B, half)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


# --------------------------------------------------------------------------------------------
# 2-D points: an MLP with the time added in every layer
# --------------------------------------------------------------------------------------------

class PointNet(nn.Module):
    """x_t (B, 2), t (B,) -> (B, 2). Each hidden layer: h <- SiLU(W h + U emb(t) + b)."""

    def __init__(self, config: DiffusionConfig):
        super().__init__()
        self.time_dim = config.time_dim
        widths = (2, *config.hidden)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.times = nn.ModuleList(nn.Linear(config.time_dim, b, bias=False) for b in config.hidden)
        self.out = nn.Linear(widths[-1], 2)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = time_embedding(t, self.time_dim).to(x.dtype)  # (B, time_dim)
        h = x
        for layer, time in zip(self.layers, self.times):
            h = F.silu(layer(h) + time(emb))  # (B, width)
        return self.out(h)


# --------------------------------------------------------------------------------------------
# Images: a small U-Net
# --------------------------------------------------------------------------------------------

def group_norm(channels: int) -> nn.GroupNorm:
    """Group norm with up to 8 groups (works for any channel count >= 4 that 8 or 4 divides)."""
    groups = 8 if channels % 8 == 0 else 4 if channels % 4 == 0 else 1
    return nn.GroupNorm(groups, channels)


class ResBlock(nn.Module):
    """h = conv(SiLU(GN(x))) + proj(emb); out = conv(SiLU(GN(h))) + skip(x). (B, I, H, W) -> (B, O, H, W)."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int):
        super().__init__()
        self.norm1, self.conv1 = group_norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = group_norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(emb)[:, :, None, None]  # (B, O, 1, 1): the same shift at every pixel
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    """x_t (B, C, S, S), t (B,) -> (B, C, S, S) for S = 28 or 32, with hidden = (c1, c2):

        S:   in conv C->c1, block c1->c1  ----------------------------- skip1 -> block c2+c1->c1, out conv -> C
        S/2:   down (stride 2), block c1->c2  --------- skip2 -> block 2c2->c2, up (nearest x2, conv)
        S/4:     down (stride 2), block c2->c2 (the middle), up (nearest x2, conv)
    """

    def __init__(self, config: DiffusionConfig):
        super().__init__()
        c, (c1, c2) = config.channels, config.hidden
        self.time_dim = config.time_dim
        emb = 4 * c1
        self.time = nn.Sequential(nn.Linear(config.time_dim, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.conv_in = nn.Conv2d(c, c1, 3, padding=1)
        self.block1 = ResBlock(c1, c1, emb)
        self.down1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)  # S -> S/2
        self.block2 = ResBlock(c1, c2, emb)
        self.down2 = nn.Conv2d(c2, c2, 3, stride=2, padding=1)  # S/2 -> S/4 (28: 7; 32: 8)
        self.middle = ResBlock(c2, c2, emb)
        self.up2 = nn.Conv2d(c2, c2, 3, padding=1)
        self.block3 = ResBlock(2 * c2, c2, emb)
        self.up1 = nn.Conv2d(c2, c2, 3, padding=1)
        self.block4 = ResBlock(c2 + c1, c1, emb)
        self.norm_out, self.conv_out = group_norm(c1), nn.Conv2d(c1, c, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.time(time_embedding(t, self.time_dim).to(x.dtype))  # (B, 4 c1)
        skip1 = self.block1(self.conv_in(x), emb)  # (B, c1, S, S)
        skip2 = self.block2(self.down1(skip1), emb)  # (B, c2, S/2, S/2)
        h = self.middle(self.down2(skip2), emb)  # (B, c2, S/4, S/4)
        h = self.up2(F.interpolate(h, size=skip2.shape[-2:], mode="nearest"))  # (B, c2, S/2, S/2)
        h = self.block3(torch.cat([h, skip2], dim=1), emb)  # (B, c2, S/2, S/2)
        h = self.up1(F.interpolate(h, size=skip1.shape[-2:], mode="nearest"))  # (B, c2, S, S)
        h = self.block4(torch.cat([h, skip1], dim=1), emb)  # (B, c1, S, S)
        return self.conv_out(F.silu(self.norm_out(h)))  # (B, C, S, S)


# --------------------------------------------------------------------------------------------
# The model: network + the family's sampler
# --------------------------------------------------------------------------------------------

class DiffusionModel(nn.Module):
    def __init__(self, config: DiffusionConfig, generator: torch.Generator | None = None):
        super().__init__()
        self.config = config
        self.data_shape = config.data_shape
        self.net = UNet(config) if config.data == "image" else PointNet(config)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """PyTorch's default initialisation, drawn from ``generator``; the last layer starts at 0,
        so the first prediction is 0 everywhere (a common choice for diffusion nets: no random
        field to unlearn)."""
        init_default(self, generator)
        for layer in self.modules():
            if isinstance(layer, nn.GroupNorm) and not layer.weight.is_meta:
                layer.reset_parameters()  # scale 1, shift 0 (init_default knows only batch norm)
        last = self.net.conv_out if self.config.data == "image" else self.net.out
        if not last.weight.is_meta:
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    # --- the boundary between data space ([0, 1] images / raw points) and model space ---
    def to_model_space(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 - 1 if self.config.data == "image" else x

    def to_data_space(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + 1) / 2).clamp(0, 1) if self.config.data == "image" else x

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The prediction at (x_t, t): the noise eps (ddpm) or the velocity eps - x_0 (flow)."""
        return self.net(x_t, t)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """x_T ~ N(0, I): (n, *data_shape) on the model's device, where every sampler starts."""
        weight = next(self.parameters())
        return torch.randn((n, *self.data_shape), generator=generator, device=weight.device, dtype=weight.dtype)

    @torch.no_grad()
    def run_sampler(self, noise: torch.Tensor, steps: int | None = None, sampler: str | None = None,
                    generator: torch.Generator | None = None, keep_path: bool = False) -> diffusion.Sampled:
        """From ``noise`` (model space) to samples (model space) with the family's sampler."""
        cfg = self.config
        steps, sampler = steps or cfg.sample_steps, sampler or cfg.sampler
        check_choice("sampler", sampler, diffusion.SAMPLERS[cfg.process])
        if cfg.process == "flow":
            return diffusion.sample_flow(self, noise, steps, sampler, keep_path=keep_path)
        clip = 1.0 if cfg.data == "image" else None  # images: x0_hat stays in the pixel range
        eta = 1.0 if sampler == "ddpm" else 0.0
        return diffusion.sample_ddpm(self, noise, steps, generator, cfg.schedule, eta=eta, clip=clip,
                                     keep_path=keep_path)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, steps: int | None = None,
               sampler: str | None = None) -> torch.Tensor:
        """n samples in data space; ``generator`` draws the starting noise (and DDPM's step noise)."""
        return self.to_data_space(self.run_sampler(self.noise(n, generator), steps, sampler, generator).x)
