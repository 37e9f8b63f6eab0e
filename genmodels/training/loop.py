"""One training loop for every family, written as a generator of frozen events.

``train(...)`` yields, in order: ``Started``; then ``Step`` every ``log_every`` optimizer steps,
``Snapshot`` every ``snapshot_every`` steps and ``EpochEnd`` after each epoch (with test metrics);
and last ``Finished`` (or it raises ``TrainingDiverged``). ``fit(...)`` drains it. The library
never prints: the CLI and the app render the events.

The loop knows no family: what differs lives in the family's spec (registry.py), whose step,
evaluation and snapshot functions are in training/steps.py. On the CPU an MLP VAE trains through
a step with its backward pass written out (training/fast/), chosen here once per run.

Speed: the dataset sits on the training device and is batched by shuffled index; loss terms are
summed on the device and read back (one host sync) only every ``log_every`` steps. On CUDA,
forward passes run in bf16 autocast and conv models in channels_last (NHWC); asked for,
``torch.compile`` compiles the model's parts in place (accel.py; eager again if compiling fails),
and the time of the steps that compiled is reported apart from the training time (BENCHMARKS.md).
Randomness comes from ``torch.Generator``s seeded from the config, never from the global seed.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from genmodels.configs import TrainConfig, check_choice
from genmodels.data import Dataset, batch_indices
from genmodels.errors import TrainingDiverged
from genmodels.i18n import L_
from genmodels.runtime import resolve_device
from genmodels.training import fast
from genmodels.training.accel import (
    COMPILE_MODES,
    compile_parts,
    synchronize,
    uncompile_parts,
    uses_channels_last,
)
from genmodels.training.averaging import WeightAverage
from genmodels.training.steps import StepContext

if TYPE_CHECKING:
    from genmodels.registry import FamilySpec


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Started:
    family: str
    dataset: str
    device: str
    total_steps: int  # planned optimizer steps (epochs x batches, capped by max_steps)
    parameters: int


@dataclass(frozen=True)
class Step:
    step: int  # optimizer steps done so far
    epoch: int  # 1-based epoch in progress
    terms: dict[str, float]  # loss terms averaged over the steps since the last Step event
    images_per_second: float  # over the steps since the last Step event
    elapsed: float  # seconds since Started


@dataclass(frozen=True)
class Snapshot:
    step: int
    epoch: int
    # Images: (rows, n, C, H, W) in [0, 1], one row per label (e.g. "input", "reconstruction"; marked
    # with N_, translated where shown).
    # Points (2-D toys): (n, 2) generated points, and rows is ("generated",).
    rows: tuple[str, ...]
    images: torch.Tensor | None = None
    points: torch.Tensor | None = None


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    step: int
    train: dict[str, float]  # loss terms averaged over the epoch
    test: dict[str, float]  # test-split metrics (see the family's evaluate function)
    elapsed: float


@dataclass(frozen=True)
class Finished:
    reason: str  # "completed", "max_steps", "stopped" or "time_limit"
    step: int
    epoch: int
    seconds: float  # wall clock, evaluation and snapshots included
    train_seconds: float  # in training steps only
    images_per_second: float  # training images per train_second
    test: dict[str, float]  # metrics at the last evaluation (empty if none ran)
    # With torch.compile: seconds of the steps that compiled (the first at each batch size), kept
    # out of train_seconds; and why compiling failed, if it did (training then went on eagerly).
    compile_seconds: float = 0.0
    compile_error: str = ""


Event = Started | Step | Snapshot | EpochEnd | Finished


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------

def train(
    spec: FamilySpec,
    model: torch.nn.Module,
    dataset: Dataset,
    config: TrainConfig,
    *,
    stop: threading.Event | None = None,
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
    start_step: int = 0,
    compile_mode: str = "none",
) -> Iterator[Event]:
    """Train ``model`` (of family ``spec``) on ``dataset``, yielding events.

    ``stop`` ends the run cooperatively within one step. To continue an earlier run ("train
    more"), pass its ``optimizers`` (so Adam keeps its moment estimates) and ``start_step``.
    ``compile_mode`` (one of COMPILE_MODES) compiles the model's parts for this run only; the
    model leaves eager, in the default memory layout, however the run ends."""
    check_choice("compile_mode", compile_mode, COMPILE_MODES)
    device = resolve_device(config.device)
    channels_last = uses_channels_last(model, device)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)  # conv weights (O, I, kH, kW) stored as NHWC
    model.train()
    try:
        yield from _train(spec, model, dataset, config, device, channels_last, stop, optimizers, start_step,
                          compile_mode)
    finally:
        uncompile_parts(model)
        if channels_last:
            model.to(memory_format=torch.contiguous_format)


def _train(spec, model, dataset, config, device, channels_last, stop, optimizers, start_step, compile_mode):
    """The loop of ``train`` (which sets the model up and always restores it)."""
    data = dataset if dataset.device == device else dataset.to(device)
    n_train = len(data.train_x)
    batch_size = min(config.batch_size, n_train)
    batches_per_epoch = math.ceil(n_train / batch_size)
    total_steps = batches_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)

    generator = torch.Generator(device=device).manual_seed(config.seed + 1 + start_step)
    if optimizers is None:
        optimizers = spec.optimizers(model, config, device)
    ctx = StepContext(device=device, generator=generator, optimizers=optimizers)
    compiling = compile_mode != "none"
    if compiling:
        compile_parts(model, compile_mode)
    # The family's step, or a CPU fast path that trains this model exactly as it would (chosen
    # once here, never inside a step: training/fast/).
    plain_step = spec.step if compiling else fast.step_for(spec.step, model, device) or spec.step
    compiled_sizes: set[int] = set()  # batch sizes whose first (compiling) step is behind us
    compile_seconds, compile_error = 0.0, ""
    # Fixed inputs for snapshots, so successive grids show the same images / the same noise.
    snapshot_inputs = spec.snapshot_inputs(model, data, config.snapshot_count, config.seed)
    yield Started(family=spec.name, dataset=dataset.name, device=str(device), total_steps=total_steps,
                  parameters=sum(p.numel() for p in model.parameters()))
    started_at = time.monotonic()  # after the consumer has handled Started

    step, epoch, reason, last_test = start_step, 0, "completed", {}
    # Each step's loss terms, stacked in the order of term_names, are summed on the device since the
    # last Step (window_sums) and since the epoch began (epoch_sums): read back only at a Step or an
    # epoch's end, the one host sync of the loop.
    term_names: list[str] = []  # every step function returns the same terms in the same order
    window_sums: torch.Tensor | None = None  # (len(term_names),)
    window_steps, window_images, window_start = 0, 0, time.monotonic()
    images_seen, side_seconds = 0, 0.0  # side: evaluation, snapshots and the consumer, not training
    last_snapshot_step = -1
    # With config.ema, evaluations, snapshots and the model at the end use the weights' moving average.
    average = WeightAverage(model, config.ema) if config.ema else None

    def aside(work):
        """Run ``work()`` in eval mode without gradients, and keep its time out of images/s."""
        nonlocal side_seconds, window_start
        began = time.monotonic()
        model.eval()
        # Compiled parts would compile again for eval mode and the test batch size: run them eagerly.
        eager = torch.compiler.set_stance("force_eager") if compiling else contextlib.nullcontext()
        averaged = average.applied(model) if average else contextlib.nullcontext()
        with torch.no_grad(), eager, averaged:
            result = work()
        model.train()
        side_seconds += time.monotonic() - began
        window_start += time.monotonic() - began
        return result

    def emit(event):
        """Yield ``event``; the time the consumer takes before asking for the next one is not training."""
        nonlocal side_seconds, window_start
        began = time.monotonic()
        yield event
        side_seconds += time.monotonic() - began
        window_start += time.monotonic() - began

    def compiled_step(x, y):
        """A step through the compiled parts. If it fails (the compiler's failures have many
        types: no C++ compiler, an unsupported op, a CUDA graph it cannot replay...), the model
        goes back to eager and the step is redone; the step function's zero_grad clears partial
        gradients. (A GAN step that failed in G's half redoes D's update on that batch.)"""
        nonlocal compiling, compile_error
        try:
            return spec.step(model, x, y, ctx)
        except Exception as error:
            uncompile_parts(model)
            compiling, compile_error = False, f"{type(error).__name__}: {error}".splitlines()[0][:300]
            return spec.step(model, x, y, ctx)

    def compiling_step(x, y):
        """The first compiled step at a new batch size, where torch.compile compiles: timed apart
        and kept out of images/s."""
        nonlocal compile_seconds, side_seconds, window_start
        synchronize(device)
        began = time.monotonic()
        terms = compiled_step(x, y)
        synchronize(device)
        spent = time.monotonic() - began
        compile_seconds += spent
        side_seconds += spent
        window_start += spent
        compiled_sizes.add(len(x))
        return terms

    def snapshot():
        nonlocal last_snapshot_step
        if step != last_snapshot_step:  # at most one per step (an epoch end can coincide with one)
            last_snapshot_step = step
            shot = aside(lambda: spec.snapshot(model, snapshot_inputs, ctx))
            yield from emit(Snapshot(step=step, epoch=epoch, **shot))

    while epoch < config.epochs and reason == "completed":
        if config.max_steps and step - start_step >= config.max_steps:
            reason = "max_steps"
            break
        epoch += 1
        epoch_sums: torch.Tensor | None = None  # (len(term_names),)
        epoch_steps = 0
        for index in batch_indices(n_train, batch_size, generator, device):
            if stop is not None and stop.is_set():
                reason = "stopped"
            elif config.max_seconds and time.monotonic() - started_at > config.max_seconds:
                reason = "time_limit"
            elif config.max_steps and step - start_step >= config.max_steps:
                reason = "max_steps"
            if reason != "completed":
                break
            # index_select gathers the batch in less than half the time of data.train_x[index]
            x, y = data.train_x.index_select(0, index), data.train_y.index_select(0, index)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)  # (B, C, H, W) stored as NHWC
            if compile_mode == "reduce-overhead":
                torch.compiler.cudagraph_mark_step_begin()  # last step's graph outputs may be reused
            if compiling and len(index) not in compiled_sizes:
                terms = compiling_step(x, y)  # its images and time stay out of images/s
            else:
                terms = compiled_step(x, y) if compiling else plain_step(model, x, y, ctx)
                window_images += len(index)
                images_seen += len(index)
            if average:
                average.update(model)
            step += 1
            epoch_steps += 1
            window_steps += 1
            term_names = term_names or list(terms)
            stacked = torch.stack([value.float() for value in terms.values()])  # 1 op, not one per term
            window_sums = stacked if window_sums is None else window_sums + stacked
            epoch_sums = stacked if epoch_sums is None else epoch_sums + stacked

            if step % config.log_every == 0:
                values = window_sums.tolist()  # the host sync
                now = time.monotonic()
                averages = {k: v / window_steps for k, v in zip(term_names, values)}
                check_finite(averages, step, config)
                ips = window_images / max(now - window_start, 1e-9)
                window_sums, window_steps, window_images, window_start = None, 0, 0, time.monotonic()
                yield from emit(Step(step=step, epoch=epoch, terms=averages, images_per_second=ips,
                                     elapsed=now - started_at))
            if config.snapshot_every and step % config.snapshot_every == 0:
                yield from snapshot()

        if epoch_steps == 0:  # stopped before this epoch took a step
            epoch -= 1
            break
        if reason == "stopped":
            break  # a user pressed Stop: end now, without evaluating the partial epoch
        train_terms = {k: v / epoch_steps for k, v in zip(term_names, epoch_sums.tolist())}
        check_finite(train_terms, step, config)
        last_test = aside(lambda: spec.evaluate(model, data, config.seed))
        yield from emit(EpochEnd(epoch=epoch, step=step, train=train_terms, test=last_test,
                                 elapsed=time.monotonic() - started_at))
        yield from snapshot()

    model.eval()
    if average:
        average.copy_to(model)
    seconds = time.monotonic() - started_at
    train_seconds = max(seconds - side_seconds, 1e-9)
    yield Finished(reason=reason, step=step, epoch=epoch, seconds=seconds, train_seconds=train_seconds,
                   images_per_second=images_seen / train_seconds, test=last_test,
                   compile_seconds=compile_seconds, compile_error=compile_error)


def check_finite(terms: dict[str, float], step: int, config: TrainConfig) -> None:
    bad = [name for name, value in terms.items() if not math.isfinite(value) or abs(value) > 1e12]
    if bad:
        raise TrainingDiverged(L_(
            "training diverged at step {step}: {terms} became NaN or infinite. The usual cause is a learning rate that "
            "is too high: try {lower} instead of {lr}.", step=step, terms=", ".join(bad), lower=f"{config.lr / 10:g}",
            lr=f"{config.lr:g}"))


@dataclass
class FitResult:
    model: torch.nn.Module
    finished: Finished
    events: list[Event] = field(default_factory=list)


def fit(spec, model, dataset, config, *, on_event: Callable[[Event], None] | None = None, **kwargs) -> FitResult:
    """Run ``train`` to the end; ``on_event`` sees every event (e.g. to draw a progress bar)."""
    events: list[Event] = []
    for event in train(spec, model, dataset, config, **kwargs):
        if not isinstance(event, Snapshot):  # snapshots hold tensors: keep the log light
            events.append(event)
        if on_event is not None:
            on_event(event)
    return FitResult(model=model, finished=events[-1], events=events)

