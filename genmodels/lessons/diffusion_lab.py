"""The 2-D diffusion lab: a ddpm or flow model on a toy point cloud, trained a few hundred steps at
a time while the page watches, on the same toys and with the same coverage numbers as the 2-D GAN
lab (gan_lab.py), so the two can be compared.

A ``DiffusionLab`` holds one session's experiment: the family's model on 2-D points (the MLP of
models/diffusion.py), its Adam optimizer (registry.single_adam), a seeded generator, the toy and a
loss history. It trains with training/steps.py's own ``diffusion_step``, the step the Train page
runs. What a page draws comes back as a ``DiffusionCanvas``: the data carried to time t by the
forward process, the network's field at t (predicted noise or velocity) on a grid, and sampling
trajectories from noise (t = 1) to data (t = 0) for a fixed set of starting points.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from genmodels import diffusion, registry
from genmodels.configs import LEARNING_RATES, TrainConfig, check_choice, check_float, check_int
from genmodels.data import Dataset
from genmodels.errors import TrainingDiverged
from genmodels.i18n import L_
from genmodels.lessons.gan_lab import (
    SHOWN_POINTS,
    SUPPORT_RADIUS,
    GANLab,
    canvas_span,
    lab_dataset,
    mode_radius,
    one_thread,
)
from genmodels.lessons.gan_lab_settings import BATCH_SIZES, TOY_DATASETS
from genmodels.metrics.coverage import ModeCoverage, SupportCoverage, mode_coverage, support_coverage
from genmodels.models.diffusion import DiffusionConfig
from genmodels.training.steps import StepContext, diffusion_step

FIELD_CELLS = 17  # the field's arrows sit on a 17 x 17 grid
TRAJECTORIES = 40  # starting points whose whole path is drawn
COVERAGE_EVERY = 100  # steps between coverage measurements kept in the history
WIDTHS = (32, 64, 128, 256)
DEPTHS = (1, 2, 3, 4)


@dataclass(frozen=True)
class DiffusionLabConfig:
    """One experiment. Frozen and JSON-safe, validated on creation."""

    dataset: str = "toy-ring"
    process: str = "ddpm"  # the family: "ddpm" or "flow"
    width: int = 128
    depth: int = 3
    schedule: str = "linear"  # ddpm only (cosine needs a clipped x0 estimate, which points lack: images only)
    lr: float = 2e-3
    batch_size: int = 256
    sample_steps: int = 50  # sampling steps for the drawn samples, trajectories and coverage
    sampler: str = ""  # empty: the family's deterministic sampler (ddim / euler)
    seed: int = 0

    def __post_init__(self):
        check_choice("dataset", self.dataset, TOY_DATASETS)
        check_choice("process", self.process, diffusion.PROCESSES)
        check_choice("width", self.width, WIDTHS)
        check_choice("depth", self.depth, DEPTHS)
        check_choice("schedule", self.schedule, diffusion.SCHEDULES)
        check_float("lr", self.lr, LEARNING_RATES[0], LEARNING_RATES[-1])
        check_choice("batch_size", self.batch_size, BATCH_SIZES)
        check_int("sample_steps", self.sample_steps, 1, diffusion.MAX_SAMPLING_STEPS)
        if self.sampler:
            check_choice("sampler", self.sampler, diffusion.SAMPLERS[self.process])
        check_int("seed", self.seed, 0, 1_000_000)

    @property
    def chosen_sampler(self) -> str:
        return self.sampler or ("ddim" if self.process == "ddpm" else "euler")

    def model_config(self) -> DiffusionConfig:
        return DiffusionConfig(process=self.process, data="points", hidden=(self.width,) * self.depth,
                               schedule=self.schedule, sampler=self.chosen_sampler, sample_steps=self.sample_steps)

    def train_config(self) -> TrainConfig:
        return TrainConfig(lr=self.lr, batch_size=self.batch_size, seed=self.seed, device="cpu")


@dataclass(frozen=True)
class DiffusionCanvas:
    """The layers of the lab's picture. Coordinates are data space, tensors on the CPU."""

    step: int
    span: float  # the canvas shows [-span, span]^2
    t: float  # the time the forward process and the field are shown at
    real: torch.Tensor  # (N, 2) training points
    noised: torch.Tensor  # (N, 2) the same points carried to time t by the forward process
    field_from: torch.Tensor  # (F, 2) grid points...
    field_to: torch.Tensor  # (F, 2) ...and where the sampler's field at t points from each (scaled)
    samples: torch.Tensor  # (N, 2) samples from fixed starting noise
    paths: torch.Tensor  # (S + 1, P, 2) the first P samples' positions at each sampler time, noise first
    path_times: tuple[float, ...]  # (S + 1,) the time of each row of paths: 1 ... 0


@dataclass(frozen=True)
class LabQuality:
    modes: ModeCoverage | None  # ring and grid
    support: SupportCoverage | None  # moons and spiral


class DiffusionLab:
    """One interactive 2-D diffusion experiment, driven by one page session. As in the GAN lab, the
    methods take turns on ``lock`` and ``train`` asks ``keep_going`` before each step, so a Pause
    or Reset ends a run still training in an older script run at its next step."""

    def __init__(self, config: DiffusionLabConfig, dataset: Dataset | None = None):
        self.dataset = lab_dataset(config.dataset, dataset)
        self.config = config
        self.span = canvas_span(self.dataset)
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """A fresh model from the config's seed: the same seed gives the same run."""
        with self.lock:
            config, device = self.config, torch.device("cpu")
            self.spec = registry.family(config.process)
            self.model = registry.build_model(self.spec, config.model_config(), seed=config.seed)
            self.model.train()
            self.optimizers = registry.single_adam(self.model, config.train_config(), device)
            self.generator = torch.Generator().manual_seed(config.seed + 1)  # batches, times and noise
            self.context = StepContext(device=device, generator=self.generator, optimizers=self.optimizers)
            fixed = torch.Generator().manual_seed(config.seed + 2)
            self.fixed_noise = torch.randn((SHOWN_POINTS, 2), generator=fixed)  # (N, 2): where sampling starts
            self.shown_real = self.dataset.train_x[:SHOWN_POINTS]  # (R, 2), R = N unless the toy is smaller
            self.forward_noise = torch.randn(self.shown_real.shape, generator=fixed)  # (R, 2): for the t slider
            self.step = 0
            self.train_seconds = 0.0
            self.history: list[dict] = []  # {"step", "seconds", "loss"[, "modes"]}
            self.history_stride = 1
            self._pending: list[dict] = []
            self.first_full_coverage: tuple[int, float] | None = None  # (step, train seconds)

    def set_sampling(self, sampler: str, steps: int) -> None:
        """Sample with another sampler or step count: the trained network stays as it is."""
        with self.lock:
            self.config = dataclasses.replace(self.config, sampler=sampler, sample_steps=steps)  # validates

    # --- training ---

    def train(self, steps: int, max_seconds: float | None = None, keep_going: Callable[[], bool] | None = None) -> int:
        """Up to ``steps`` optimizer steps (diffusion_step on a fresh batch drawn with replacement),
        stopping after ``max_seconds`` or when ``keep_going()`` says no. Returns the steps taken."""
        check_int("steps", steps, 0, 1_000_000)
        began, done = time.monotonic(), 0
        with self.lock, one_thread():
            while done < steps and (keep_going is None or keep_going()):
                step_began = time.monotonic()
                index = torch.randint(0, len(self.dataset.train_x), (self.config.batch_size,), generator=self.generator)
                loss = diffusion_step(self.model, self.dataset.train_x[index], None, self.context)["loss"].item()
                if not math.isfinite(loss):
                    raise TrainingDiverged(L_(
                        "training diverged at step {step}: the loss became NaN or infinite. Lower the learning rate "
                        "and press Reset.", step=self.step + 1))
                self.step += 1
                done += 1
                row = {"step": self.step, "loss": loss}
                if self.step % COVERAGE_EVERY == 0 and self.dataset.modes is not None:
                    row["modes"] = self._measure_modes()
                self.train_seconds += time.monotonic() - step_began
                row["seconds"] = self.train_seconds
                self._record(row)
                if max_seconds is not None and time.monotonic() - began >= max_seconds:
                    break
        return done

    def _measure_modes(self) -> int:
        self.model.eval()
        coverage = mode_coverage(self._sample().x, self.dataset.modes, mode_radius(self.dataset))
        self.model.train()
        if self.first_full_coverage is None and coverage.modes_covered == coverage.modes:
            self.first_full_coverage = (self.step, self.train_seconds)
        return coverage.modes_covered

    # The GAN lab's bounded history: rows of history_stride steps averaged, thinned in pairs at MAX_HISTORY.
    _record = GANLab.record

    # --- what a page shows ---

    def _sample(self, keep_path: bool = False) -> diffusion.Sampled:
        """The fixed starting noise taken to data by the configured sampler (seeded: DDPM's step noise too)."""
        generator = torch.Generator().manual_seed(self.config.seed + 3)
        return self.model.run_sampler(self.fixed_noise, self.config.sample_steps, self.config.chosen_sampler,
                                      generator, keep_path=keep_path)

    def field(self, t: float, points: torch.Tensor) -> torch.Tensor:
        """Which way sampling moves each point (N, 2) at time t, per unit of time, towards the data:

        flow: -v_hat(x, t), the velocity backwards in time;
        ddpm: the estimate of x_0 minus x, over t: the straight line to the network's guess of the
              clean point (it points along -eps_hat, the score's direction, for a ddpm)."""
        check_float("t", t, 0.01, 1.0)
        prediction = self.model(points, torch.full((len(points),), t))
        if self.config.process == "flow":
            return -prediction
        estimate = diffusion.clean_estimate("ddpm", points, t, prediction, self.config.schedule)
        return (estimate - points) / t

    @torch.no_grad()
    def canvas(self, t: float) -> DiffusionCanvas:
        check_float("t", t, 0.0, 1.0)
        with self.lock, one_thread():
            self.model.eval()
            noised = diffusion.noised(self.config.process, self.shown_real, t, self.forward_noise,
                                      self.config.schedule)
            axis = torch.linspace(-self.span * 0.9, self.span * 0.9, FIELD_CELLS)
            gy, gx = torch.meshgrid(axis, axis, indexing="ij")
            grid = torch.stack([gx.flatten(), gy.flatten()], dim=1)  # (F, 2)
            push = self.field(max(t, 0.01), grid)  # (F, 2)
            length = push.norm(dim=1, keepdim=True)
            typical = torch.quantile(length, 0.9)
            if typical > 0:  # the 90th-percentile arrow is half a grid cell long, none longer than a cell
                cell = (axis[1] - axis[0]).item()
                push = push / length.clamp_min(1e-12) * (length * (0.5 * cell / typical)).clamp(max=cell)
            sampled = self._sample(keep_path=True)
            self.model.train()
        paths = torch.stack([x[:TRAJECTORIES] for x in sampled.path])  # (S + 1, P, 2)
        return DiffusionCanvas(step=self.step, span=self.span, t=t, real=self.shown_real, noised=noised,
                               field_from=grid, field_to=grid + push, samples=sampled.x, paths=paths,
                               path_times=sampled.times)

    def quality(self, samples: torch.Tensor | None = None) -> LabQuality:
        """Mode coverage on ring and grid (the GAN lab's numbers); precision and recall otherwise."""
        if samples is None:
            with self.lock, one_thread():
                self.model.eval()
                samples = self._sample().x
                self.model.train()
        if self.dataset.modes is not None:
            return LabQuality(modes=mode_coverage(samples, self.dataset.modes, mode_radius(self.dataset)), support=None)
        return LabQuality(modes=None, support=support_coverage(samples, self.shown_real, SUPPORT_RADIUS))
