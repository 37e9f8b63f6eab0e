"""The training loop: every family learns on tiny data, events arrive in order, runs reproduce."""

import threading

import pytest
import torch

from genmodels import registry
from genmodels.configs import TrainConfig
from genmodels.errors import TrainingDiverged
from genmodels.training import loop
from genmodels.training.loop import EpochEnd, Finished, Snapshot, Started, Step

from .conftest import tiny_config


def run(family, dataset, **train_overrides):
    spec = registry.family(family)
    model = registry.build_model(spec, tiny_config(family, dataset), seed=0)
    config = TrainConfig(**{"epochs": 2, "batch_size": 64, "lr": 3e-3, "log_every": 4, "snapshot_every": 4,
                            "device": "cpu", **train_overrides})
    return list(loop.train(spec, model, dataset, config)), model


@pytest.mark.parametrize("family", ["ae", "sparse_ae", "dae", "vae"])
def test_a_short_run_lowers_the_loss(family, sprites_small):
    events, _ = run(family, sprites_small, epochs=3)
    steps = [e for e in events if isinstance(e, Step)]
    assert steps[-1].terms["loss"] < steps[0].terms["loss"]
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert epochs[-1].test["test_loss"] < epochs[0].test["test_loss"]


@pytest.mark.parametrize("family", ["gan", "dcgan"])
def test_a_short_gan_run_trains_both_players(family, sprites_small):
    events, model = run(family, sprites_small)
    steps = [e for e in events if isinstance(e, Step)]
    assert set(steps[0].terms) == {"d_loss", "d_real", "d_fake", "g_loss"}
    # The discriminator learns to tell real from fake: D(x) rises above D(G(z)).
    assert steps[-1].terms["d_real"] > steps[-1].terms["d_fake"]


def test_gan_learns_the_ring(ring_small):
    events, model = run("gan", ring_small, epochs=30, lr=2e-3)
    samples = model.sample(500, generator=torch.Generator().manual_seed(0))
    radius = samples.norm(dim=1)
    # Before training, samples sit near the origin; after a few hundred steps most lie near radius 2.
    assert ((radius - 2).abs() < 0.6).float().mean() > 0.5


def test_events_arrive_in_order(sprites_small):
    events, _ = run("vae", sprites_small)
    kinds = [type(e) for e in events]
    assert kinds[0] is Started and kinds[-1] is Finished
    assert kinds.count(EpochEnd) == 2 and Step in kinds and Snapshot in kinds
    steps = [e.step for e in events if isinstance(e, Step)]
    assert steps == sorted(steps) and steps[0] == 4
    assert events[-1].reason == "completed" and events[-1].step == 2 * 8  # 512 / 64 = 8 batches per epoch


def test_snapshots_show_fixed_inputs(sprites_small):
    events, _ = run("ae", sprites_small)
    shots = [e for e in events if isinstance(e, Snapshot)]
    assert shots[0].rows == ("input", "reconstruction")
    assert shots[0].images.shape == (2, 16, 1, 28, 28)
    assert torch.equal(shots[0].images[0], shots[-1].images[0])  # the same test images every time
    dae_shot = next(e for e in run("dae", sprites_small)[0] if isinstance(e, Snapshot))
    assert dae_shot.rows == ("clean", "noisy input", "reconstruction")


def test_point_snapshots_hold_points(ring_small):
    shot = next(e for e in run("gan", ring_small)[0] if isinstance(e, Snapshot))
    assert shot.points.shape == (16 * 32, 2) and shot.images is None


def test_max_steps_ends_the_run(sprites_small):
    events, _ = run("vae", sprites_small, max_steps=5)
    assert events[-1].reason == "max_steps" and events[-1].step == 5


def test_same_seed_same_run(sprites_small):
    first, model_a = run("vae", sprites_small, max_steps=6, seed=4)
    second, model_b = run("vae", sprites_small, max_steps=6, seed=4)
    assert first[-1].test == second[-1].test
    for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values()):
        assert torch.equal(a, b)


def test_stop_event_ends_the_run_within_a_step(sprites_small):
    spec = registry.family("vae")
    model = registry.build_model(spec, tiny_config("vae", sprites_small))
    stop = threading.Event()
    config = TrainConfig(epochs=50, batch_size=16, log_every=1, device="cpu")
    seen = []
    for event in loop.train(spec, model, sprites_small, config, stop=stop):
        seen.append(event)
        if isinstance(event, Step) and event.step == 3:
            stop.set()
    assert seen[-1].reason == "stopped" and seen[-1].step == 3


def test_a_diverging_run_raises_with_advice(sprites_small):
    spec = registry.family("ae")
    model = registry.build_model(spec, tiny_config("ae", sprites_small))
    with torch.no_grad():
        model.decoder[0][0].weight.fill_(float("nan"))  # a broken model: every output NaN
    with pytest.raises(TrainingDiverged, match="learning rate"):
        list(loop.train(spec, model, sprites_small, TrainConfig(epochs=1, log_every=2, device="cpu")))


def test_train_config_is_validated():
    with pytest.raises(ValueError, match="batch_size must be between 1 and 8192"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="device must be one of"):
        TrainConfig(device="tpu")


def test_continuing_keeps_the_optimizer_and_counts_on(sprites_small):
    spec = registry.family("vae")
    model = registry.build_model(spec, tiny_config("vae", sprites_small))
    config = TrainConfig(epochs=1, batch_size=64, log_every=4, device="cpu")
    optimizers = spec.optimizers(model, config, torch.device("cpu"))
    first = list(loop.train(spec, model, sprites_small, config, optimizers=optimizers))[-1]
    more = list(loop.train(spec, model, sprites_small, config, optimizers=optimizers, start_step=first.step))
    assert more[-1].step == 2 * first.step
    assert optimizers["model"].state  # Adam's moments carried over


def test_snapshots_hold_no_autograd_graph(sprites_small):
    for family in ("vae", "ae", "gan"):
        shots = [e for e in run(family, sprites_small)[0] if isinstance(e, Snapshot)]
        assert not shots[0].images.requires_grad, family


def test_a_stopped_run_skips_evaluating_the_partial_epoch(sprites_small):
    spec = registry.family("vae")
    model = registry.build_model(spec, tiny_config("vae", sprites_small))
    stop = threading.Event()
    events = []
    for event in loop.train(spec, model, sprites_small, TrainConfig(epochs=5, batch_size=16, log_every=1,
                                                                        device="cpu"), stop=stop):
        events.append(event)
        if isinstance(event, Step) and event.step == 2:
            stop.set()
    assert not any(isinstance(e, EpochEnd) for e in events)


def test_a_slow_consumer_does_not_lower_the_reported_speed(sprites_small):
    """The time a consumer takes over each event (a page drawing a chart) is not training time:
    images/s counts the training steps alone."""
    import time

    pause, paused = 0.05, 0
    spec = registry.family("vae")
    model = registry.build_model(spec, tiny_config("vae", sprites_small))
    config = TrainConfig(epochs=2, batch_size=32, log_every=2, device="cpu")
    for event in loop.train(spec, model, sprites_small, config):
        if isinstance(event, Finished):
            break
        time.sleep(pause)
        paused += not isinstance(event, Started)  # Started comes before the run's clock starts
    pauses = paused * pause  # about 1 s, against about 0.2 s of training (steps after a pause start cold)
    assert event.seconds - event.train_seconds >= 0.9 * pauses  # the pauses are in the wall clock...
    assert event.train_seconds < 0.5 * pauses  # ...and not in the training time
    assert event.images_per_second == pytest.approx(2 * len(sprites_small.train_x) / event.train_seconds)
