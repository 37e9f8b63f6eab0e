"""The trainer's speed features on the CPU: torch.compile is optional and falls back to eager, its
time is kept apart from the training time, and the model always leaves eager with its state_dict
keys unchanged (so checkpoints load into a plain model). The CUDA-only parts are in tests/gpu/."""

import dataclasses

import pytest
import torch

from genmodels import checkpoints, registry
from genmodels.configs import TrainConfig
from genmodels.errors import ConfigError
from genmodels.training import loop
from genmodels.training.accel import uses_channels_last
from genmodels.training.loop import Finished

from .conftest import tiny_config


def train(family, dataset, compile_mode, **overrides):
    spec = registry.family(family)
    model = registry.build_model(spec, tiny_config(family, dataset), seed=0)
    config = TrainConfig(**{"epochs": 1, "batch_size": 100, "lr": 1e-3, "log_every": 2, "snapshot_every": 0,
                            "device": "cpu", **overrides})
    events = list(loop.train(spec, model, dataset, config, compile_mode=compile_mode))
    return events[-1], model


@pytest.fixture
def dynamo_only(monkeypatch):
    """torch.compile with the "eager" backend: Dynamo traces and guards as usual, but no C++ is
    generated, so a compiled run takes seconds in a test."""
    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: real(fn, backend="eager"))


@pytest.fixture
def broken_compiler(monkeypatch):
    """A compiler that fails at the first call, as inductor does without a C++ toolchain."""
    def compile(fn, **kwargs):
        def fails(*args, **kw):
            raise RuntimeError("no C++ compiler found\nmore detail")
        return fails
    monkeypatch.setattr(torch, "compile", compile)


@pytest.fixture
def compiler_failing_later(monkeypatch):
    """A compiled call that works for a while, then fails (as a CUDA graph that cannot be replayed)."""
    calls = {"n": 0}

    def compile(fn, **kwargs):
        def sometimes(*args, **kw):
            calls["n"] += 1
            if calls["n"] > 12:
                raise RuntimeError("cannot replay the graph")
            return fn(*args, **kw)
        return sometimes
    monkeypatch.setattr(torch, "compile", compile)


def parts_are_eager(model) -> bool:
    return all(part._compiled_call_impl is None for part in model.children())


@pytest.mark.parametrize("family", ["vae", "dcgan"])
def test_a_compiled_run_trains_reports_compile_time_and_leaves_the_model_eager(family, sprites_small, dynamo_only):
    keys = list(registry.build_model(registry.family(family), tiny_config(family, sprites_small)).state_dict())
    finished, model = train(family, sprites_small, "default")
    assert isinstance(finished, Finished) and finished.reason == "completed" and finished.compile_error == ""
    # 512 images in batches of 100: sizes 100 and 12, so two steps compiled, timed apart.
    assert finished.compile_seconds > 0
    assert finished.images_per_second == pytest.approx((512 - 100 - 12) / finished.train_seconds)
    assert parts_are_eager(model)
    assert list(model.state_dict()) == keys  # no _orig_mod. prefixes


def test_a_failing_compiler_falls_back_to_eager_and_says_why(sprites_small, broken_compiler):
    finished, model = train("vae", sprites_small, "default")
    assert finished.reason == "completed" and finished.step == 6
    assert finished.compile_error == "RuntimeError: no C++ compiler found"
    assert parts_are_eager(model)
    assert torch.isfinite(torch.tensor(finished.test["test_loss"]))


def test_a_compiled_step_failing_mid_run_falls_back_to_eager_for_the_rest(sprites_small, compiler_failing_later):
    finished, model = train("vae", sprites_small, "default")
    assert finished.reason == "completed" and finished.step == 6
    assert finished.compile_error == "RuntimeError: cannot replay the graph"
    assert parts_are_eager(model)


def test_a_checkpoint_saved_after_a_compiled_run_loads_into_a_plain_model(sprites_small, dynamo_only, tmp_path):
    finished, model = train("vae", sprites_small, "default", max_steps=3)
    info = checkpoints.make_info("vae", model, name="compiled", train_config=None, dataset="sprites",
                                 metrics=finished.test)
    checkpoints.save_checkpoint(tmp_path / "c.safetensors", model, info)
    loaded = checkpoints.load_checkpoint(tmp_path / "c.safetensors")
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], tensor)


def test_an_unknown_compile_mode_is_refused_with_the_valid_ones(sprites_small):
    with pytest.raises(ConfigError, match="reduce-overhead"):
        train("vae", sprites_small, "fastest")


def test_eager_runs_report_no_compile_time_and_stay_in_the_default_layout(sprites_small):
    finished, model = train("dcgan", sprites_small, "none", max_steps=2)
    assert finished.compile_seconds == 0 and finished.compile_error == ""
    assert not uses_channels_last(model, torch.device("cpu"))  # channels_last is for CUDA
    assert all(p.is_contiguous() for p in model.parameters())


def test_a_run_abandoned_mid_way_still_leaves_the_model_eager(sprites_small, dynamo_only):
    spec = registry.family("vae")
    model = registry.build_model(spec, tiny_config("vae", sprites_small), seed=0)
    events = loop.train(spec, model, sprites_small, TrainConfig(epochs=1, batch_size=64, log_every=1,
                                                                     device="cpu"), compile_mode="default")
    for event in events:
        if isinstance(event, loop.Step):
            assert not parts_are_eager(model)  # compiled while it runs
            break
    events.close()  # the consumer walks away (a page closed, a job stopped)
    assert parts_are_eager(model)


def test_logged_and_epoch_losses_are_the_means_of_the_steps_they_cover(sprites_small):
    """Loss terms are summed on the device and read back at Steps and epoch ends: a Step's terms
    average the steps since the last Step, an epoch's train terms average all its steps."""
    spec = registry.family("vae")
    seen = []

    def recording_step(model, x, y, ctx):
        terms = spec.step(model, x, y, ctx)
        seen.append({k: v.item() for k, v in terms.items()})
        return terms

    recording = dataclasses.replace(spec, step=recording_step)
    model = registry.build_model(recording, tiny_config("vae", sprites_small), seed=0)
    config = TrainConfig(epochs=2, batch_size=100, log_every=4, snapshot_every=0, device="cpu")
    events = list(loop.train(recording, model, sprites_small, config))
    mean = lambda rows: {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
    steps = [e for e in events if isinstance(e, loop.Step)]
    epochs = [e for e in events if isinstance(e, loop.EpochEnd)]
    # 512 images in batches of 100: 6 steps an epoch; Steps at 4, 8 (across the epoch end) and 12.
    assert [e.step for e in steps] == [4, 8, 12] and len(seen) == 12
    for event, rows in zip(steps, (seen[0:4], seen[4:8], seen[8:12])):
        assert event.terms == pytest.approx(mean(rows), rel=1e-5)
    for event, rows in zip(epochs, (seen[0:6], seen[6:12])):
        assert event.train == pytest.approx(mean(rows), rel=1e-5)
