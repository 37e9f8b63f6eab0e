"""Diffusion and flow matching as maths: the noising paths, the training pairs and the samplers.

Two families share one network (models/diffusion.py: a prediction from a noisy point x_t and its
time t in [0, 1]) and one training loop; they differ only in what is written here:

- ``ddpm`` (Ho, Jain and Abbeel, "Denoising Diffusion Probabilistic Models", 2020): T = 1000
  noising steps q(x_i | x_{i-1}) = N(sqrt(1 - beta_i) x_{i-1}, beta_i I) under a linear or cosine
  schedule of beta_i (Nichol and Dhariwal, "Improved DDPM", 2021). Their composition has a closed
  form, q(x_i | x_0) = N(sqrt(abar_i) x_0, (1 - abar_i) I) with abar_i = prod_{j<=i} (1 - beta_j),
  so a training pair is one draw: x_i = sqrt(abar_i) x_0 + sqrt(1 - abar_i) eps, and the network
  learns to predict eps. Sampling walks back: ancestral DDPM steps (random) or DDIM steps (Song,
  Meng and Ermon, "Denoising Diffusion Implicit Models", 2021; deterministic for eta = 0), over any
  subsequence of the T steps.
- ``flow`` (flow matching / rectified flow: Lipman et al. 2023; Liu, Gong and Liu 2023): the straight
  path x_t = (1 - t) x_0 + t eps for t in [0, 1]; the network learns its velocity dx_t/dt = eps - x_0,
  and sampling integrates dx/dt = v(x, t) from t = 1 (noise) back to t = 0 (data) with Euler or
  Heun steps.

Every random draw takes a ``torch.Generator``; samplers are pure functions of the prediction
function, the starting noise and that generator (a seed on a page reproduces a picture). Shapes
are (B, ...) throughout: (B, 2) points or (B, C, H, W) images in model space.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from genmodels.configs import check_choice, check_float, check_int
from genmodels.i18n import N_

PROCESSES = ("ddpm", "flow")
SCHEDULES = ("linear", "cosine")
SAMPLERS = {"ddpm": ("ddpm", "ddim"), "flow": ("euler", "heun")}
SAMPLER_TITLES = {"ddpm": N_("DDPM (ancestral, random)"), "ddim": N_("DDIM (deterministic)"),
                  "euler": N_("Euler"), "heun": N_("Heun (2 evaluations per step)")}
TIMESTEPS = 1000  # T, as Ho et al.
MAX_SAMPLING_STEPS = TIMESTEPS

# A network's prediction as a function of (x_t, t): x_t (B, ...) and t (B,) in [0, 1].
Predict = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# --------------------------------------------------------------------------------------------
# DDPM: the noise schedule and the forward process
# --------------------------------------------------------------------------------------------

@functools.cache
def alpha_bars(schedule: str, steps: int = TIMESTEPS) -> torch.Tensor:
    """abar_i = prod_{j<=i} (1 - beta_j) for i = 1..T, as a (T,) float64 CPU tensor (index i - 1).

    linear (Ho et al. 2020): beta_i from 1e-4 to 0.02 in equal steps.
    cosine (Nichol and Dhariwal 2021, eq. 17): abar_i = f(i) / f(0), f(i) = cos^2((i/T + s)/(1 + s) * pi/2)
    with s = 0.008, the betas 1 - abar_i / abar_{i-1} clipped at 0.999 so the last step stays finite.
    Cached (a schedule is a fixed table); callers must not modify it."""
    check_choice("schedule", schedule, SCHEDULES)
    if schedule == "linear":
        betas = torch.linspace(1e-4, 0.02, steps, dtype=torch.float64)
    else:
        s = 0.008
        u = torch.arange(steps + 1, dtype=torch.float64) / steps  # i / T for i = 0..T
        f = torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2
        betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, dim=0)


def betas(schedule: str, steps: int = TIMESTEPS) -> torch.Tensor:
    """beta_i = 1 - abar_i / abar_{i-1} (abar_0 = 1): (T,) float64."""
    abar = alpha_bars(schedule, steps)
    return 1 - abar / torch.cat([abar.new_ones(1), abar[:-1]])


def ddpm_time(index: torch.Tensor, steps: int = TIMESTEPS) -> torch.Tensor:
    """The network's time input for step indices 0..T-1 (step i + 1 of the T): (i + 1) / T in (0, 1]."""
    return (index.double() + 1) / steps


def ddpm_marginal(x0: torch.Tensor, index: torch.Tensor, noise: torch.Tensor, schedule: str) -> torch.Tensor:
    """A draw from q(x_i | x_0) = N(sqrt(abar_i) x_0, (1 - abar_i) I), reparameterised:

        x_i = sqrt(abar_i) x_0 + sqrt(1 - abar_i) eps,   eps ~ N(0, I)

    ``index`` (B,) holds i - 1 in 0..T-1; x0 and noise are (B, ...)."""
    abar = alpha_bars(schedule)[index.cpu()].to(x0.device, x0.dtype)  # (B,)
    abar = abar.view(-1, *([1] * (x0.dim() - 1)))  # (B, 1, ...) to broadcast over the data dims
    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise


# --------------------------------------------------------------------------------------------
# Flow matching: the straight path
# --------------------------------------------------------------------------------------------

def flow_path(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """x_t = (1 - t) x_0 + t eps: data at t = 0, pure noise at t = 1. t (B,), x0 and noise (B, ...)."""
    t = t.to(x0.dtype).view(-1, *([1] * (x0.dim() - 1)))
    return (1 - t) * x0 + t * noise


def flow_velocity(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The path's velocity dx_t/dt = eps - x_0 (the same at every t: the path is straight)."""
    return noise - x0


# --------------------------------------------------------------------------------------------
# Training pairs: the one place where the two families differ in training
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainingPair:
    x_t: torch.Tensor  # (B, ...) the noisy input
    t: torch.Tensor  # (B,) its time in [0, 1], the network's second input
    target: torch.Tensor  # (B, ...) what the network should output: eps (ddpm) or eps - x_0 (flow)


def training_pair(process: str, x0: torch.Tensor, schedule: str, generator: torch.Generator) -> TrainingPair:
    """Draw a time per example and the noise, and build the noisy input and the target.

    ddpm: i uniform in 1..T, x_i from q(x_i | x_0), target eps (Ho et al., Algorithm 1).
    flow: t uniform in [0, 1], x_t on the straight path, target eps - x_0."""
    check_choice("process", process, PROCESSES)
    b = len(x0)
    noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    if process == "ddpm":
        index = torch.randint(0, TIMESTEPS, (b,), generator=generator, device=x0.device)
        return TrainingPair(ddpm_marginal(x0, index, noise, schedule), ddpm_time(index).to(x0.dtype), noise)
    t = torch.rand((b,), generator=generator, device=x0.device, dtype=x0.dtype)
    return TrainingPair(flow_path(x0, t, noise), t, flow_velocity(x0, noise))


def noised(process: str, x0: torch.Tensor, t: float, noise: torch.Tensor, schedule: str) -> torch.Tensor:
    """x_0 moved to time t in [0, 1] by the family's forward process (the lab's t slider): for ddpm
    the step i = round(t T) (t = 0 gives x_0 itself)."""
    check_float("t", t, 0.0, 1.0)
    if process == "flow":
        return flow_path(x0, torch.full((len(x0),), t, device=x0.device), noise)
    i = round(t * TIMESTEPS)
    if i == 0:
        return x0.clone()
    return ddpm_marginal(x0, torch.full((len(x0),), i - 1, dtype=torch.long), noise, schedule)


def clean_estimate(process: str, x_t: torch.Tensor, t: float, prediction: torch.Tensor, schedule: str) -> torch.Tensor:
    """The network's estimate of x_0 from x_t, read off its prediction by inverting the path:

    ddpm: x0_hat = (x_i - sqrt(1 - abar_i) eps_hat) / sqrt(abar_i)
    flow: x0_hat = x_t - t v_hat   (follow the straight line back to t = 0)"""
    if process == "flow":
        return x_t - t * prediction
    abar = alpha_bars(schedule)[max(round(t * TIMESTEPS), 1) - 1].item()
    return (x_t - math.sqrt(1 - abar) * prediction) / math.sqrt(abar)


# --------------------------------------------------------------------------------------------
# Samplers: pure functions of (predict, starting noise, steps, generator)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sampled:
    x: torch.Tensor  # (B, ...) the samples in model space
    path: tuple[torch.Tensor, ...]  # x at each time visited, noise first and samples last (if kept)
    times: tuple[float, ...]  # the time in [0, 1] of each entry of path (1 = noise)
    evaluations: int  # network evaluations per sample


def ddpm_timesteps(steps: int) -> list[int]:
    """``steps`` step indices from T-1 down to 0, evenly spaced (Song et al.'s "linear" subsequence)."""
    check_int("steps", steps, 1, MAX_SAMPLING_STEPS)
    return sorted({round(v) for v in torch.linspace(TIMESTEPS - 1, 0, steps).tolist()}, reverse=True)


def ddim_step(x: torch.Tensor, eps: torch.Tensor, abar: float, abar_prev: float, eta: float,
              noise: torch.Tensor | None, clip: float | None) -> torch.Tensor:
    """One step from x_i back to x_j (j < i, abar_prev = abar_j; 1 at the end), Song et al. eq. 12:

        x0_hat  = (x_i - sqrt(1 - abar_i) eps_hat) / sqrt(abar_i)
        sigma   = eta * sqrt((1 - abar_j) / (1 - abar_i)) * sqrt(1 - abar_i / abar_j)
        x_j     = sqrt(abar_j) x0_hat + sqrt(1 - abar_j - sigma^2) eps_hat + sigma z,   z ~ N(0, I)

    eta = 0 is DDIM: deterministic. eta = 1 is DDPM's ancestral step: sigma^2 is then the
    posterior variance beta~ = (1 - abar_j)/(1 - abar_i) beta and the mean is Ho et al.'s
    1/sqrt(alpha_i) (x_i - beta_i / sqrt(1 - abar_i) eps_hat), with alpha_i = abar_i / abar_j
    (tests/test_diffusion.py checks the two forms agree). ``clip`` bounds x0_hat (images: [-1, 1])."""
    x0 = (x - math.sqrt(1 - abar) * eps) / math.sqrt(abar)
    if clip is not None:
        x0 = x0.clamp(-clip, clip)
        eps = (x - math.sqrt(abar) * x0) / math.sqrt(1 - abar)  # the noise consistent with the clipped x0
    sigma = eta * math.sqrt((1 - abar_prev) / (1 - abar) * (1 - abar / abar_prev))
    x_prev = math.sqrt(abar_prev) * x0 + math.sqrt(max(1 - abar_prev - sigma**2, 0.0)) * eps
    if sigma > 0 and noise is not None:
        x_prev = x_prev + sigma * noise
    return x_prev


@torch.no_grad()
def sample_ddpm(predict: Predict, noise: torch.Tensor, steps: int, generator: torch.Generator | None,
                schedule: str, eta: float = 1.0, clip: float | None = None, keep_path: bool = False) -> Sampled:
    """Start from x_T = ``noise`` and take ``steps`` steps back to x_0 over an even subsequence of
    the T steps. eta = 1: ancestral DDPM (fresh noise each step from ``generator``); eta = 0: DDIM."""
    check_float("eta", eta, 0.0, 1.0)
    abar = alpha_bars(schedule)
    x, path, times = noise, [noise] if keep_path else [], [1.0]
    order = ddpm_timesteps(steps)
    for k, i in enumerate(order):
        j = order[k + 1] if k + 1 < len(order) else -1  # -1: the end, abar = 1
        t = torch.full((len(x),), (i + 1) / TIMESTEPS, device=x.device, dtype=x.dtype)
        eps = predict(x, t)
        z = None
        if eta > 0 and j >= 0:  # the last step adds no noise (Ho et al., Algorithm 2: z = 0 at t = 1)
            z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = ddim_step(x, eps, abar[i].item(), abar[j].item() if j >= 0 else 1.0, eta, z, clip)
        if keep_path:
            path.append(x)
        times.append((j + 1) / TIMESTEPS)
    return Sampled(x=x, path=tuple(path), times=tuple(times), evaluations=len(order))


@torch.no_grad()
def sample_flow(predict: Predict, noise: torch.Tensor, steps: int, method: str = "euler",
                keep_path: bool = False) -> Sampled:
    """Integrate dx/dt = v(x, t) from t = 1 (``noise``) to t = 0 in ``steps`` equal steps of dt = -1/steps:

        Euler: x <- x + dt v(x, t)
        Heun:  x' = x + dt v(x, t);  x <- x + dt/2 (v(x, t) + v(x', t + dt))   (2 evaluations)

    Deterministic: all the randomness is in the starting noise."""
    check_int("steps", steps, 1, MAX_SAMPLING_STEPS)
    check_choice("method", method, SAMPLERS["flow"])
    x, path = noise, [noise] if keep_path else []
    times = [1 - k / steps for k in range(steps + 1)]  # 1, ..., 0
    for k in range(steps):
        t, t_next = times[k], times[k + 1]
        dt = t_next - t  # negative: back in time
        v = predict(x, torch.full((len(x),), t, device=x.device, dtype=x.dtype))
        x_euler = x + dt * v
        if method == "heun":
            v_next = predict(x_euler, torch.full((len(x),), t_next, device=x.device, dtype=x.dtype))
            x = x + dt / 2 * (v + v_next)
        else:
            x = x_euler
        if keep_path:
            path.append(x)
    return Sampled(x=x, path=tuple(path), times=tuple(times), evaluations=steps * (2 if method == "heun" else 1))
