"""The CUDA path (skipped without a GPU; ``make gpu`` runs it and the GPU benchmark): the dataset
stays on the GPU, a training step never waits for the GPU, forward passes run in bf16 autocast,
Adam is fused, conv models train in channels_last, torch.compile works in both modes and its
checkpoints load into a plain model."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genmodels import checkpoints, registry
from genmodels.configs import TrainConfig
from genmodels.data import batch_indices, is_available
from genmodels.training import loop
from genmodels.training.averaging import WeightAverage
from genmodels.training.steps import StepContext

from ..conftest import tiny_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (make gpu)")

ROOT = Path(__file__).resolve().parents[2]
CUDA = torch.device("cuda")
FAMILIES = [("vae", "mlp"), ("vae", "conv"), ("dae", "conv"), ("ae", "mlp"), ("gan", "mlp"), ("dcgan", "conv")]


def build(family, arch, dataset):
    spec = registry.family(family)
    config = tiny_config(family, dataset)
    if arch != config.arch:
        config = registry.model_config(spec, dataset, arch=arch, hidden=(8, 16) if arch == "conv" else (32,))
    return spec, registry.build_model(spec, config, seed=0).to(CUDA)


@pytest.fixture(scope="module")
def sprites_gpu(sprites_small):
    return sprites_small.to(CUDA)


@pytest.mark.parametrize("family, arch", FAMILIES)
def test_training_steps_never_wait_for_the_gpu(family, arch, sprites_gpu):
    spec, model = build(family, arch, sprites_gpu)
    config = TrainConfig(batch_size=64, device="cuda")
    generator = torch.Generator(device=CUDA).manual_seed(0)
    ctx = StepContext(device=CUDA, generator=generator, optimizers=spec.optimizers(model, config, CUDA))
    indices = batch_indices(len(sprites_gpu.train_x), 64, generator, CUDA)
    spec.step(model, sprites_gpu.train_x[indices[0]], sprites_gpu.train_y[indices[0]], ctx)  # warm up
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any host sync (.item(), nonzero, a copy to the CPU) raises
    try:
        sums = None
        for index in indices[1:6]:
            x, y = sprites_gpu.train_x[index], sprites_gpu.train_y[index]  # the loop's gather
            terms = spec.step(model, x, y, ctx)
            stacked = torch.stack([v.float() for v in terms.values()])
            sums = stacked if sums is None else sums + stacked  # the loop's on-device running sums
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert torch.isfinite(sums).all()


@pytest.mark.parametrize("family", ["ddpm", "flow"])
def test_diffusion_steps_and_the_weight_average_never_wait_for_the_gpu(family, sprites_gpu):
    spec = registry.family(family)
    model = registry.build_model(spec, tiny_config(family, sprites_gpu), seed=0).to(CUDA)
    config = TrainConfig(batch_size=64, device="cuda", ema=0.999)
    generator = torch.Generator(device=CUDA).manual_seed(0)
    ctx = StepContext(device=CUDA, generator=generator, optimizers=spec.optimizers(model, config, CUDA))
    average = WeightAverage(model, config.ema)
    indices = batch_indices(len(sprites_gpu.train_x), 64, generator, CUDA)
    spec.step(model, sprites_gpu.train_x[indices[0]], sprites_gpu.train_y[indices[0]], ctx)  # warm up
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for index in indices[1:6]:
            terms = spec.step(model, sprites_gpu.train_x[index], sprites_gpu.train_y[index], ctx)
            average.update(model)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert torch.isfinite(terms["loss"]) and all(a.is_cuda for a in average.average)


def test_forward_passes_run_in_bf16_and_losses_in_fp32(sprites_gpu):
    spec, model = build("vae", "mlp", sprites_gpu)
    ctx = StepContext(device=CUDA, generator=torch.Generator(device=CUDA).manual_seed(0), optimizers={})
    with ctx.autocast():
        out = model(sprites_gpu.train_x[:8], generator=ctx.generator)
    assert out.logits.dtype == torch.bfloat16 and out.z.dtype == torch.float32
    terms = spec.step(model, sprites_gpu.train_x[:8], None, StepContext(
        CUDA, ctx.generator, spec.optimizers(model, TrainConfig(device="cuda"), CUDA)))
    assert all(v.dtype == torch.float32 for v in terms.values())


@pytest.mark.parametrize("family", ["vae", "dcgan"])
def test_adam_is_fused_on_the_gpu(family, sprites_gpu):
    spec, model = build(family, "mlp" if family == "vae" else "conv", sprites_gpu)
    for optimizer in spec.optimizers(model, TrainConfig(device="cuda"), CUDA).values():
        assert optimizer.param_groups[0]["fused"] is True


def test_conv_models_train_in_channels_last_and_leave_in_the_default_layout(sprites_small, tmp_path):
    spec = registry.family("dcgan")
    model = registry.build_model(spec, tiny_config("dcgan", sprites_small), seed=0)
    convs = [m.weight for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    config = TrainConfig(epochs=1, batch_size=64, log_every=2, snapshot_every=0, device="cuda")
    for event in loop.train(spec, model, sprites_small, config):
        if isinstance(event, loop.Step) and event.step == 2:
            assert all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
            info = checkpoints.make_info("dcgan", model, name="mid-run", dataset="sprites")
            checkpoints.save_checkpoint(tmp_path / "mid.safetensors", model, info)  # saving mid-run works
    assert all(w.is_contiguous() for w in convs)
    assert checkpoints.load_checkpoint(tmp_path / "mid.safetensors").info.name == "mid-run"


@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
@pytest.mark.parametrize("family", ["vae", "dcgan"])
def test_compiled_training_on_the_gpu_learns_and_saves_plain_checkpoints(family, mode, sprites_small, tmp_path):
    spec = registry.family(family)
    model = registry.build_model(spec, tiny_config(family, sprites_small), seed=0)
    keys = list(model.state_dict())
    config = TrainConfig(epochs=2, batch_size=64, log_every=4, snapshot_every=4, device="cuda")
    events = list(loop.train(spec, model, sprites_small, config, compile_mode=mode))
    finished = events[-1]
    assert finished.compile_error == "" and finished.compile_seconds > 0
    assert all(torch.isfinite(torch.tensor(v)) for v in finished.test.values())
    assert list(model.state_dict()) == keys
    info = checkpoints.make_info(family, model, name="compiled", dataset="sprites", metrics=finished.test)
    checkpoints.save_checkpoint(tmp_path / "c.safetensors", model, info)
    checkpoints.load_checkpoint(tmp_path / "c.safetensors")


def test_a_vae_learns_on_the_gpu(sprites_small):
    spec = registry.family("vae")
    model = registry.build_model(spec, tiny_config("vae", sprites_small), seed=0)
    config = TrainConfig(epochs=3, batch_size=64, lr=3e-3, log_every=4, snapshot_every=0, device="cuda")
    epochs = [e for e in loop.train(spec, model, sprites_small, config) if isinstance(e, loop.EpochEnd)]
    assert epochs[-1].test["test_loss"] < epochs[0].test["test_loss"]


@pytest.mark.skipif(not is_available("fashion-mnist"), reason="needs Fashion-MNIST on disk")
def test_the_quick_gpu_benchmark_runs():
    done = subprocess.run([sys.executable, "-m", "genmodels", "bench", "--quick", "--device", "cuda"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "GENLAB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(done.stdout.strip().splitlines()[-1])["rows"]
    assert rows[0]["case"] == "mlp-vae-b128" and rows[0]["device"] == "cuda" and rows[0]["speedup"] > 0
