"""One training loop for every family, written as a generator of frozen events.

``train(...)`` yields, in order: ``Started``; then ``Step`` every ``log_every`` optimizer steps,
``Snapshot`` every ``snapshot_every`` steps and ``EpochEnd`` after each epoch (with test metrics);
and last ``Finished`` (or it raises ``TrainingDiverged``). ``fit(...)`` drains it. The library
never prints: the CLI and the app render the events.

What differs between families lives in three small functions per family, below the loop:
a step (one optimizer update on one batch, returning its loss terms), an evaluation on the test
split, and a snapshot (the image or point grid shown while training). registry.py binds them.

Speed: the dataset sits on the training device and is batched by shuffled index; loss terms are
summed on the device and read back (one host sync) only every ``log_every`` steps; Adam is fused
and called without most of the optimizer's per-step bookkeeping; on the CPU an MLP VAE's step
skips autograd for a backward pass written out (vae_by_hand.py).
On CUDA, forward passes run in bf16 autocast and conv models in channels_last (NHWC); asked for,
``torch.compile`` compiles the model's parts in place (eager again if compiling fails), and the
time of the steps that compiled is reported apart from the training time (BENCHMARKS.md).
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
from torch import nn

from genmodels import losses, vae_by_hand
from genmodels.configs import check_choice, check_float, check_int
from genmodels.corruption import corrupt
from genmodels.data import Dataset, batch_indices
from genmodels.errors import ConfigError, TrainingDiverged

if TYPE_CHECKING:
    from genmodels.registry import FamilySpec

DEVICES = ("auto", "cpu", "cuda", "mps")
# torch.compile modes train() accepts: "none" is eager; "reduce-overhead" adds CUDA graphs.
COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 5
    max_steps: int = 0  # stop after this many optimizer steps in total; 0 = no limit
    batch_size: int = 128
    lr: float = 1e-3
    lr_discriminator: float = 0.0  # GANs: the discriminator's learning rate; 0 = same as lr
    seed: int = 0
    device: str = "auto"
    log_every: int = 20  # steps between Step events; each costs one host sync
    snapshot_every: int = 200  # steps between Snapshot events; 0 = only at epoch ends
    snapshot_count: int = 16  # images (or 16x as many points) in each snapshot
    max_seconds: float = 0.0  # wall-clock cap; 0 = none

    def __post_init__(self):
        check_int("epochs", self.epochs, 1, 1000)
        check_int("max_steps", self.max_steps, 0, 10_000_000)
        check_int("batch_size", self.batch_size, 1, 8192)
        check_float("lr", self.lr, 1e-6, 1.0)
        if self.lr_discriminator != 0:
            check_float("lr_discriminator", self.lr_discriminator, 1e-6, 1.0)
        check_int("seed", self.seed, 0, 2**31 - 1)
        check_choice("device", self.device, DEVICES)
        check_int("log_every", self.log_every, 1, 100_000)
        check_int("snapshot_every", self.snapshot_every, 0, 10_000_000)
        check_int("snapshot_count", self.snapshot_count, 1, 64)
        check_float("max_seconds", self.max_seconds, 0.0, 7 * 24 * 3600)


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
    # Images: (rows, n, C, H, W) in [0, 1], one row per label (e.g. "input", "reconstruction").
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
# Device and optimizers
# --------------------------------------------------------------------------------------------

def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks cuda, then mps, then cpu. Asking for a missing device is a ConfigError."""
    check_choice("device", name, DEVICES)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but no CUDA GPU is visible; use --device cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device 'mps' asked for, but this machine has no Apple GPU; use cpu or auto")
    return torch.device(name)


def adam(parameters, lr: float, device: torch.device, betas=(0.9, 0.999)) -> torch.optim.Adam:
    """Adam with the fused kernel where torch has one (cpu, cuda: FusedAdam, one kernel for all
    parameters); foreach Adam elsewhere (mps)."""
    if device.type in ("cpu", "cuda"):
        return FusedAdam(parameters, lr=lr, betas=betas, fused=True)
    return torch.optim.Adam(parameters, lr=lr, betas=betas, foreach=True)


class FusedAdam(torch.optim.Adam):
    """``torch.optim.Adam(fused=True)`` whose step calls the same fused kernel directly once the
    state exists, skipping the parent's regrouping of the tensors by device and dtype and its
    per-group checks: 0.33 ms a step against 0.36-0.41 ms for the MLP VAE's parameters on 2 CPU
    cores (the wrapper torch puts around every optimizer's ``step``, with its hooks, still runs).
    The first step (which creates the state), a closure, a parameter without a gradient, a
    gradient scaler, or any option besides plain Adam's go through the parent's step."""

    @torch.no_grad()
    def step(self, closure=None):
        if closure is not None or not all(self._plain(group) for group in self.param_groups):
            return super().step(closure)
        for group in self.param_groups:
            params = group["params"]
            states = [self.state[p] for p in params]
            steps = [state["step"] for state in states]  # one 0-d tensor per parameter
            beta1, beta2 = group["betas"]
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(params, [p.grad for p in params], [state["exp_avg"] for state in states],
                               [state["exp_avg_sq"] for state in states], [], steps, amsgrad=False,
                               lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"],
                               eps=group["eps"], maximize=False)
        return None

    def _plain(self, group) -> bool:
        """Whether ``group`` can take the direct step: plain Adam's options, no gradient scaler
        (torch.amp's GradScaler sets grad_scale and found_inf), and a state and a gradient for
        every parameter."""
        if getattr(self, "grad_scale", None) is not None or getattr(self, "found_inf", None) is not None:
            return False
        options = ("amsgrad", "maximize", "capturable", "differentiable", "decoupled_weight_decay")
        return (bool(group["params"]) and not any(group.get(option) for option in options)
                and not isinstance(group["lr"], torch.Tensor)
                and all(self.state.get(p) and p.grad is not None for p in group["params"]))


def autocast(device: torch.device):
    """bf16 autocast on CUDA (matmuls and convs in bf16; losses, exp and log stay fp32);
    full fp32 elsewhere, where bf16 would be slower or less precise."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def uses_channels_last(model: nn.Module, device: torch.device) -> bool:
    """Conv models on CUDA train in channels_last (NHWC), the layout cuDNN's bf16 tensor-core
    kernels read directly; on the CPU and for MLPs the default layout is as fast."""
    return device.type == "cuda" and any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in model.modules())


def compile_parts(model: nn.Module, mode: str) -> None:
    """torch.compile each top-level part of ``model`` (encoder, decoder, generator, discriminator...)
    in place with ``nn.Module.compile``: the step functions call those parts, not ``forward``, and
    in-place compilation leaves the state_dict keys alone (no ``_orig_mod.`` prefixes), so a
    checkpoint saved during or after training loads into a plain model."""
    check_choice("compile_mode", mode, COMPILE_MODES)
    for part in model.children():
        part.compile(mode=None if mode == "default" else mode)


def uncompile_parts(model: nn.Module) -> None:
    """Undo ``compile_parts``: ``nn.Module.compile`` stores the compiled call here, and None means
    eager again (so the app's later calls, on other shapes, never wait for a recompilation)."""
    for part in model.children():
        part._compiled_call_impl = None


def synchronize(device: torch.device) -> None:
    """Wait for the GPU, so that a wall-clock reading covers the work queued so far."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class StepContext:
    """What a family's step function needs besides the model and the batch."""

    device: torch.device
    generator: torch.Generator  # noise for corruption, reparameterisation, GAN latents
    optimizers: dict[str, torch.optim.Optimizer]
    decisions: dict[str, bool] = field(default_factory=dict)  # see once()

    def autocast(self):
        """Wrap forward passes and losses (not backward or optimizer steps, as PyTorch advises)."""
        return autocast(self.device)

    def once(self, name: str, decide: Callable[[], bool]) -> bool:
        """A choice a step function makes at its first step (``decide()``) and keeps for the run,
        when deciding every step would cost more than a step can spare."""
        if name not in self.decisions:
            self.decisions[name] = decide()
        return self.decisions[name]


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

    def aside(work):
        """Run ``work()`` in eval mode without gradients, and keep its time out of images/s."""
        nonlocal side_seconds, window_start
        began = time.monotonic()
        model.eval()
        # Compiled parts would compile again for eval mode and the test batch size: run them eagerly.
        eager = torch.compiler.set_stance("force_eager") if compiling else contextlib.nullcontext()
        with torch.no_grad(), eager:
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
                terms = compiled_step(x, y) if compiling else spec.step(model, x, y, ctx)
                window_images += len(index)
                images_seen += len(index)
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
    seconds = time.monotonic() - started_at
    train_seconds = max(seconds - side_seconds, 1e-9)
    yield Finished(reason=reason, step=step, epoch=epoch, seconds=seconds, train_seconds=train_seconds,
                   images_per_second=images_seen / train_seconds, test=last_test,
                   compile_seconds=compile_seconds, compile_error=compile_error)


def check_finite(terms: dict[str, float], step: int, config: TrainConfig) -> None:
    bad = [name for name, value in terms.items() if not math.isfinite(value) or abs(value) > 1e12]
    if bad:
        raise TrainingDiverged(
            f"training diverged at step {step}: {', '.join(bad)} became NaN or infinite. The usual "
            f"cause is a learning rate that is too high: try {config.lr / 10:g} instead of {config.lr:g}."
        )


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


# --------------------------------------------------------------------------------------------
# Autoencoders (ae, sparse_ae, dae): one step, the config says which loss terms apply.
# --------------------------------------------------------------------------------------------

def autoencoder_step(model, x, y, ctx: StepContext) -> dict[str, torch.Tensor]:
    cfg = model.config
    # dae: the encoder sees a corrupted copy; the target stays the clean x.
    x_in = corrupt(x, cfg.corruption, cfg.noise_level, ctx.generator)
    with ctx.autocast():
        out = model(x_in)
        bce = losses.bce_per_image(out.logits.float(), x)
        loss = bce
        terms = {"loss": loss, "bce": bce}
        if cfg.sparsity_weight > 0:
            sparsity = losses.sparsity_kl(out.code.float(), cfg.sparsity_target)
            loss = bce + cfg.sparsity_weight * sparsity
            terms = {"loss": loss, "bce": bce, "sparsity": sparsity}
    optimizer = ctx.optimizers["model"]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {k: v.detach() for k, v in terms.items()}


@torch.no_grad()
def autoencoder_evaluate(model, data: Dataset, seed: int, batch_size: int = 1000) -> dict[str, float]:
    """Test-split BCE and MSE per image, mean per-image PSNR (dB) and SSIM. For a dae, the inputs are
    corrupted as in training (with a fixed seed, so the number is comparable across epochs)."""
    from genmodels.metrics import psnr, ssim

    cfg = model.config
    generator = torch.Generator(device=data.device).manual_seed(seed + 7)
    sums = {"test_bce": 0.0, "test_mse": 0.0, "test_psnr": 0.0, "test_ssim": 0.0}
    for x in data.test_x.split(batch_size):
        x_in = corrupt(x, cfg.corruption, cfg.noise_level, generator)
        logits = model(x_in).logits.float()
        recon = torch.sigmoid(logits)
        sums["test_bce"] += losses.bce_per_image(logits, x).item() * len(x)
        sums["test_mse"] += losses.mse_per_image(recon, x).item() * len(x)
        sums["test_psnr"] += psnr(recon, x).sum().item()
        sums["test_ssim"] += ssim(recon, x).sum().item()
    n = len(data.test_x)
    metrics = {k: v / n for k, v in sums.items()}
    metrics["test_loss"] = metrics["test_bce"]
    return metrics


def autoencoder_snapshot_inputs(model, data: Dataset, count: int, seed: int):
    return data.test_x[:count]


def autoencoder_snapshot(model, inputs, ctx: StepContext) -> dict:
    cfg = model.config
    if cfg.corruption != "none" and cfg.noise_level > 0:
        generator = torch.Generator(device=inputs.device).manual_seed(0)
        noisy = corrupt(inputs, cfg.corruption, cfg.noise_level, generator)
        rows, images = ("clean", "noisy input", "reconstruction"), [inputs, noisy, model.reconstruct(noisy)]
    else:
        rows, images = ("input", "reconstruction"), [inputs, model.reconstruct(inputs)]
    return {"rows": rows, "images": torch.stack(images).float().cpu()}


# --------------------------------------------------------------------------------------------
# VAE
# --------------------------------------------------------------------------------------------

def vae_step(model, x, y, ctx: StepContext) -> dict[str, torch.Tensor]:
    # MLP VAEs on the CPU: the same update without autograd (deciding takes 0.05 ms: once a run)
    if ctx.once("vae_by_hand", lambda: vae_by_hand.applies(model, ctx.device)):
        return vae_by_hand.vae_step_by_hand(model, x, ctx.generator, ctx.optimizers["model"])
    with ctx.autocast():
        out = model(x, generator=ctx.generator)
        loss, bce, kl = losses.negative_elbo(out.logits.float(), x, out.mu.float(), out.logvar.float(),
                                             model.config.beta)
    optimizer = ctx.optimizers["model"]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {"loss": loss.detach(), "bce": bce.detach(), "kl": kl.detach()}


@torch.no_grad()
def vae_evaluate(model, data: Dataset, seed: int, batch_size: int = 1000) -> dict[str, float]:
    """Test-split negative ELBO (nats per image) with one reparameterised sample per image, as
    pytorch/examples vae's test loss, plus its two terms and the deterministic reconstruction BCE."""
    generator = torch.Generator(device=data.device).manual_seed(seed + 7)
    sums = {"test_loss": 0.0, "test_bce": 0.0, "test_kl": 0.0}
    for x in data.test_x.split(batch_size):
        out = model(x, generator=generator)
        loss, bce, kl = losses.negative_elbo(out.logits.float(), x, out.mu.float(), out.logvar.float(), 1.0)
        for key, value in (("test_loss", loss), ("test_bce", bce), ("test_kl", kl)):
            sums[key] += value.item() * len(x)
    return {k: v / len(data.test_x) for k, v in sums.items()}


def vae_snapshot_inputs(model, data: Dataset, count: int, seed: int):
    generator = torch.Generator(device=data.device).manual_seed(seed + 11)
    z = torch.randn((count, model.config.latent_dim), generator=generator, device=data.device)
    return {"images": data.test_x[:count], "z": z}


def vae_snapshot(model, inputs, ctx: StepContext) -> dict:
    images = [inputs["images"], model.reconstruct(inputs["images"]), model.decode(inputs["z"])]
    return {"rows": ("input", "reconstruction", "sample from the prior"), "images": torch.stack(images).float().cpu()}


# --------------------------------------------------------------------------------------------
# GANs (gan, dcgan): the two-phase update, written out.
# --------------------------------------------------------------------------------------------

def gan_loss_functions(model):
    if model.config.loss == "least_squares":
        return losses.discriminator_loss_least_squares, losses.generator_loss_least_squares
    return losses.discriminator_loss, losses.generator_loss_nonsaturating


def discriminator_step(model, real: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
    """One update of D: push D(real) up and D(G(z)) down. ``real`` is in model space."""
    d_loss_fn, _ = gan_loss_functions(model)
    z = model.latent(len(real), ctx.generator)
    with ctx.autocast():
        fake = model.generate(z).detach()  # detach: this phase must not update (or even reach) G
        real_logits = model.discriminate(real)
        fake_logits = model.discriminate(fake)
        d_loss = d_loss_fn(real_logits.float(), fake_logits.float())
    optimizer = ctx.optimizers["discriminator"]
    optimizer.zero_grad(set_to_none=True)
    d_loss.backward()
    optimizer.step()
    return {
        "d_loss": d_loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach().float()).mean(),  # D(x): 1 = "surely real"
        "d_fake": torch.sigmoid(fake_logits.detach().float()).mean(),  # D(G(z)) before G's update
    }


def generator_step(model, batch_size: int, ctx: StepContext) -> dict[str, torch.Tensor]:
    """One update of G through a frozen D: make D(G(z)) look real."""
    _, g_loss_fn = gan_loss_functions(model)
    model.discriminator.requires_grad_(False)  # gradients flow through D to G, but D's own are not needed
    z = model.latent(batch_size, ctx.generator)
    with ctx.autocast():
        fake_logits = model.discriminate(model.generate(z))
        g_loss = g_loss_fn(fake_logits.float())
    optimizer = ctx.optimizers["generator"]
    optimizer.zero_grad(set_to_none=True)
    g_loss.backward()
    optimizer.step()
    model.discriminator.requires_grad_(True)
    return {"g_loss": g_loss.detach()}


def gan_step(model, x, y, ctx: StepContext) -> dict[str, torch.Tensor]:
    """d_steps updates of D (fresh noise each, same real batch), then one update of G."""
    real = model.to_model_space(x)
    for _ in range(model.config.d_steps):
        d_terms = discriminator_step(model, real, ctx)
    return {**d_terms, **generator_step(model, len(x), ctx)}


@torch.no_grad()
def gan_evaluate(model, data: Dataset, seed: int, batch_size: int = 1000) -> dict[str, float]:
    """D's loss and mean outputs on the test split against as many fresh fakes."""
    d_loss_fn, _ = gan_loss_functions(model)
    generator = torch.Generator(device=data.device).manual_seed(seed + 7)
    sums = {"test_d_loss": 0.0, "test_d_real": 0.0, "test_d_fake": 0.0}
    for x in data.test_x.split(batch_size):
        real_logits = model.discriminate(model.to_model_space(x)).float()
        fake_logits = model.discriminate(model.generate(model.latent(len(x), generator))).float()
        sums["test_d_loss"] += d_loss_fn(real_logits, fake_logits).item() * len(x)
        sums["test_d_real"] += torch.sigmoid(real_logits).sum().item()
        sums["test_d_fake"] += torch.sigmoid(fake_logits).sum().item()
    metrics = {k: v / len(data.test_x) for k, v in sums.items()}
    metrics["test_loss"] = metrics["test_d_loss"]
    return metrics


def gan_snapshot_inputs(model, data: Dataset, count: int, seed: int):
    generator = torch.Generator(device=data.device).manual_seed(seed + 11)
    n = count * 32 if model.config.data == "points" else count  # a point cloud needs many points
    return torch.randn((n, model.config.latent_dim), generator=generator, device=data.device)


def gan_snapshot(model, z, ctx: StepContext) -> dict:
    samples = model.decode(z).float().cpu()
    if model.config.data == "points":
        return {"rows": ("generated",), "points": samples}
    return {"rows": ("samples from fixed noise",), "images": samples.unsqueeze(0)}
