"""What the Diffusion lab computes from an image model (ddpm or flow): test images noised to a time
t beside the network's estimate of the clean image, samples timed on the spot, and the reverse
process as a strip of frames from noise to picture. Images in and out are in [0, 1].

They run in one CPU thread (gan_lab.one_thread): on a server whose cores are busy, two threads
sampling the small U-Net were several times slower than one (32 images, 10 steps: 2.3 s with one
thread, 13.6 s with two, on this 2-core machine under load)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from genmodels import diffusion
from genmodels.lessons.gan_lab import one_thread


@dataclass(frozen=True)
class Noising:
    clean: torch.Tensor  # (N, C, H, W) x_0
    noisy: torch.Tensor  # (N, C, H, W) x_t, shown in [0, 1] (clipped: noise leaves the pixel range)
    estimate: torch.Tensor  # (N, C, H, W) x0_hat, the network's estimate of x_0 from x_t


@torch.no_grad()
def noise_and_estimate(model, images: torch.Tensor, t: float, seed: int) -> Noising:
    """x_t from the family's forward process with seeded noise, and the clean estimate read off the
    network's prediction (diffusion.clean_estimate)."""
    cfg = model.config
    device = next(model.parameters()).device
    x0 = model.to_model_space(images.to(device).float())  # (N, C, H, W) in [-1, 1]
    noise = torch.randn(x0.shape, generator=torch.Generator(device=device).manual_seed(seed), device=device)
    x_t = diffusion.noised(cfg.process, x0, t, noise, cfg.schedule)
    if t == 0:
        estimate = x0
    else:
        with one_thread():
            prediction = model(x_t, torch.full((len(x0),), t, device=device))
        estimate = diffusion.clean_estimate(cfg.process, x_t, t, prediction, cfg.schedule)
    return Noising(clean=images.cpu(), noisy=model.to_data_space(x_t).cpu(),
                   estimate=model.to_data_space(estimate).cpu())


@dataclass(frozen=True)
class TimedSamples:
    images: torch.Tensor  # (N, C, H, W)
    seconds: float  # wall clock for the whole batch
    evaluations: int  # network evaluations per image


@torch.no_grad()
def timed_samples(model, n: int, steps: int, sampler: str, seed: int) -> TimedSamples:
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    began = time.perf_counter()
    with one_thread():
        result = model.run_sampler(model.noise(n, generator), steps, sampler, generator)
    images = model.to_data_space(result.x).float().cpu()  # .cpu() waits for a GPU to finish
    return TimedSamples(images=images, seconds=time.perf_counter() - began, evaluations=result.evaluations)


@dataclass(frozen=True)
class ReverseStrip:
    images: torch.Tensor  # (F, C, H, W) frames from noise to picture
    times: tuple[float, ...]  # (F,) the time of each frame, 1 ... 0


@torch.no_grad()
def reverse_strip(model, steps: int, sampler: str, seed: int, frames: int = 11) -> ReverseStrip:
    """One sample's path from noise to picture, ``frames`` states evenly spaced along the sampler's steps."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    with one_thread():
        result = model.run_sampler(model.noise(1, generator), steps, sampler, generator, keep_path=True)
    picks = sorted({round(k * (len(result.path) - 1) / (frames - 1)) for k in range(frames)})
    images = torch.cat([model.to_data_space(result.path[k]) for k in picks]).float().cpu()  # (F, C, H, W)
    return ReverseStrip(images=images, times=tuple(result.times[k] for k in picks))
