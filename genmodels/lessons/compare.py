"""Every family on the same data: what the Compare page computes.

On a 2-D toy, a GAN (the 2-D GAN lab's balanced default), a VAE (models/vae.PointVAE), a diffusion
model and a flow model (the Diffusion lab's default networks) train for the same number of steps
from the same seed, and their samples are scored with the same mode coverage. On images, each
trained generator gets its sample time per image and parameter count measured here; the Frechet
distance comes from frechet.sample_quality.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from genmodels import losses
from genmodels.data import Dataset
from genmodels.i18n import N_
from genmodels.lessons.diffusion_lab import DiffusionLab, DiffusionLabConfig
from genmodels.lessons.gan_lab import GANLab, mode_radius, one_thread
from genmodels.lessons.gan_lab_settings import LabConfig
from genmodels.metrics.coverage import ModeCoverage, mode_coverage
from genmodels.models.common import parameter_count
from genmodels.models.vae import PointVAE

TOY_MODELS = (N_("GAN"), N_("VAE"), N_("diffusion (DDPM)"), N_("flow matching"))


@dataclass(frozen=True)
class ToyResult:
    name: str  # one of TOY_MODELS
    samples: torch.Tensor  # (N, 2)
    coverage: ModeCoverage | None  # None on moons and spiral (no modes to count)
    train_seconds: float
    parameters: int  # every network's (the GAN's: generator and discriminator; the VAE's: encoder and decoder)


def train_point_vae(dataset: Dataset, steps: int, seed: int = 0) -> tuple[PointVAE, float]:
    """The toy comparison's VAE: PointVAE (two 128-unit layers each way, a 2-D code, sigma 0.1) for
    ``steps`` Adam steps at 1e-3 on batches of 256 drawn from ``seed``. Returns it and its training seconds."""
    generator = torch.Generator().manual_seed(seed)
    model = PointVAE(generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    began = time.perf_counter()
    with one_thread():
        for _ in range(steps):
            x = dataset.train_x[torch.randint(0, len(dataset.train_x), (256,), generator=generator)]  # (256, 2)
            output = model(x, generator)
            loss, _reconstruction, _kl = losses.point_negative_elbo(output.logits, x, output.mu, output.logvar,
                                                                    model.sigma)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model.eval(), time.perf_counter() - began


def toy_comparison(dataset: Dataset, steps: int, seed: int = 0) -> list[ToyResult]:
    """Train the four on ``dataset`` for ``steps`` steps each (batch 256, seed ``seed``) and score
    1,000 samples of each. Diffusion and flow sample with 50 deterministic steps (DDIM, Euler); the
    VAE decodes 1,000 codes from its prior."""
    gan = GANLab(LabConfig(dataset=dataset.name, seed=seed), dataset)
    gan.train(steps)
    vae, vae_seconds = train_point_vae(dataset, steps, seed)
    labs = [DiffusionLab(DiffusionLabConfig(dataset=dataset.name, process=p, seed=seed), dataset)
            for p in ("ddpm", "flow")]
    for lab in labs:
        lab.train(steps)
    with one_thread():
        vae_samples = vae.sample(1000, torch.Generator().manual_seed(seed))
    results = [(TOY_MODELS[0], gan.generate(), gan.train_seconds, parameter_count(gan.model)),
               (TOY_MODELS[1], vae_samples, vae_seconds, parameter_count(vae))]
    results += [(name, lab.canvas(0.5).samples, lab.train_seconds, parameter_count(lab.model))
                for name, lab in zip(TOY_MODELS[2:], labs)]
    return [ToyResult(name=name, samples=samples, parameters=parameters, train_seconds=seconds,
                      coverage=None if dataset.modes is None else
                      mode_coverage(samples, dataset.modes, mode_radius(dataset)))
            for name, samples, seconds, parameters in results]


@dataclass(frozen=True)
class SampleTiming:
    images: torch.Tensor  # (N, C, H, W) in [0, 1]
    seconds_per_image: float


@torch.no_grad()
def timed_samples(model, n: int = 16, seed: int = 0) -> SampleTiming:
    """``model.sample`` with its own defaults (a diffusion model: its default sampler and steps),
    timed on this machine now."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    began = time.perf_counter()
    with one_thread():  # as diffusion_images: one thread samples faster on a busy server
        images = model.sample(n, generator=generator).float().cpu()
    return SampleTiming(images=images, seconds_per_image=(time.perf_counter() - began) / n)
