"""``python -m genmodels bench --diffusion``: how fast the diffusion and flow families train and
sample, and how the shipped image model's sample quality depends on the number of sampling steps.

Three kinds of rows:

- ``train``: training images/s of ddpm and flow with the small U-Net (the registry's default for
  28x28) on Fashion-MNIST, batch 128, through the lab's own loop (``loop.train`` with ``max_steps``;
  images/s counts training steps only), after an untimed warm-up of a few steps;
- ``sample``: images/s of the shipped model's default sampler at 10, 25, 50, 100 and 250 steps,
  100 images per batch;
- ``frechet``: the Frechet distance (metrics/frechet.py, the lab's classifier) of the shipped
  diffusion models at each step count (ddpm also with its ancestral sampler at 100 and 250
  steps) and of the shipped DCGAN, all on the same number of samples,
  with the floor for that number (real training images against the test set).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from genmodels import registry
from genmodels.checkpoints import load_checkpoint
from genmodels.configs import TrainConfig
from genmodels.data import load_dataset
from genmodels.metrics import frechet
from genmodels.runtime import checkpoint_dir, resolve_device
from genmodels.training import loop

STEP_COUNTS = (10, 25, 50, 100, 250)
ANCESTRAL_STEP_COUNTS = (100, 250)
SHIPPED_DIFFUSION = ("ddpm-fashion", "flow-fashion")


@dataclass(frozen=True)
class DiffusionRow:
    kind: str  # "train", "sample" or "frechet"
    case: str
    values: dict


def train_speed(family: str, dataset, device, steps: int) -> float:
    """Training images/s of the family's default image model over ``steps`` steps, after 3 untimed
    warm-up steps (the loop keeps its evaluation out of images/s)."""
    spec = registry.family(family)
    model = registry.build_model(spec, registry.model_config(spec, dataset), seed=0)
    for count in (3, steps):
        config = TrainConfig(epochs=1, max_steps=count, batch_size=128, device=str(device), snapshot_every=0)
        finished = loop.fit(spec, model, dataset, config).finished
    return finished.images_per_second


@torch.no_grad()
def sample_speed(model, steps: int, device, batch: int = 100) -> float:
    model.to(device)
    generator = torch.Generator(device=device).manual_seed(0)
    model.sample(2, generator=generator, steps=1)  # warm-up
    began = time.perf_counter()
    model.sample(batch, generator=generator, steps=steps).cpu()
    return batch / (time.perf_counter() - began)


class StepsSampler(torch.nn.Module):
    """A diffusion model seen through ``sample(n, generator)`` with a fixed step count (and
    sampler: None for the model's default), for frechet.sample_quality."""

    def __init__(self, model, steps: int, sampler: str | None = None):
        super().__init__()
        self.model, self.steps, self.sampler = model, steps, sampler

    def sample(self, n: int, generator=None) -> torch.Tensor:
        return self.model.sample(n, generator=generator, steps=self.steps, sampler=self.sampler)


def run_diffusion_bench(quick: bool = False, device: str = "cpu", samples: int = 2000) -> Iterator[DiffusionRow]:
    device = resolve_device(device)
    dataset = load_dataset("fashion-mnist", device)
    for family in ("ddpm", "flow"):
        ips = train_speed(family, dataset, device, 10 if quick else 60)
        yield DiffusionRow("train", f"{family} U-Net (16, 32), batch 128", {"images_per_second": round(ips, 1)})
    folder = checkpoint_dir()
    shipped = {name: load_checkpoint(folder / f"{name}.safetensors").model.to(device)
               for name in SHIPPED_DIFFUSION if (folder / f"{name}.safetensors").exists()}
    counts = STEP_COUNTS[:2] if quick else STEP_COUNTS
    for name, model in shipped.items():
        for steps in counts:
            yield DiffusionRow("sample", f"{name}, {model.config.sampler}, {steps} steps",
                               {"images_per_second": round(sample_speed(model, steps, device), 1)})
    classifier = frechet.load_classifier(frechet.classifier_path(folder, "fashion-mnist")).model.to(device)
    reference = frechet.real_statistics(classifier, dataset, samples=200 if quick else samples)
    for name, model in shipped.items():
        # ddpm: also Ho et al.'s random ancestral sampler, which needs more steps than DDIM
        runs = [(model.config.sampler, steps) for steps in counts]
        if model.config.process == "ddpm" and not quick:
            runs += [("ddpm", steps) for steps in ANCESTRAL_STEP_COUNTS]
        for sampler, steps in runs:
            quality = frechet.sample_quality(StepsSampler(model, steps, sampler), classifier, reference)
            yield DiffusionRow("frechet", f"{name}, {sampler}, {steps} steps",
                               {"frechet": round(quality.frechet, 3), "floor": round(quality.floor, 3),
                                "samples": quality.samples})
    dcgan = load_checkpoint(folder / "dcgan-fashion.safetensors").model.to(device)
    quality = frechet.sample_quality(dcgan, classifier, reference)
    yield DiffusionRow("frechet", "dcgan-fashion", {"frechet": round(quality.frechet, 3),
                                                    "floor": round(quality.floor, 3), "samples": quality.samples})


def format_row(row: DiffusionRow) -> str:
    return f"{row.kind:8} {row.case:40} " + "  ".join(f"{k}={v}" for k, v in row.values.items())
