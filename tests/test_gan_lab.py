"""The 2-D GAN lab (genmodels.lessons.gan_lab), mode coverage on point sets with known answers, and the GAN
step's two-phase contract (D first, on detached fakes; then G through a frozen D)."""

import dataclasses
import math
import threading
import time

import pytest
import torch

from genmodels import data, registry
from genmodels.configs import TrainConfig
from genmodels.errors import ConfigError, TrainingDiverged
from genmodels.lessons import gan_lab
from genmodels.lessons import gan_lab_settings as lab_settings
from genmodels.lessons.gan_diagnosis import Quality
from genmodels.lessons.gan_lab import GANLab
from genmodels.lessons.gan_lab_settings import LabConfig, preset_config
from genmodels.metrics.coverage import mode_coverage, support_coverage
from genmodels.registry import presets_for
from genmodels.training.steps import StepContext, discriminator_step, gan_step, generator_step

from .conftest import tiny_config

SMALL = LabConfig(g_hidden=16, d_hidden=16, batch_size=64)  # milliseconds per step


@pytest.fixture(scope="module")
def ring():
    return data.toy("toy-ring", n_train=2000, n_test=100)


def lab_on(ring, **changes) -> GANLab:
    return GANLab(dataclasses.replace(SMALL, **changes), ring)


def parameters(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


# --- mode coverage: point sets whose answers are known ---

MODES = data.ring_modes()  # 8 centres on a circle of radius 2, 1.53 apart


def test_points_on_three_modes_cover_exactly_those_three():
    points = MODES[[0, 3, 5]].repeat_interleave(100, dim=0)  # (300, 2), 100 on each
    coverage = mode_coverage(points, MODES, radius=0.15)
    assert coverage.covered == (True, False, False, True, False, True, False, False)
    assert coverage.modes_covered == 3 and coverage.modes == 8
    assert coverage.counts == (100, 0, 0, 100, 0, 100, 0, 0)
    assert coverage.off_mode_fraction == 0


def test_points_far_from_every_mode_count_as_off_mode():
    on_mode = MODES.repeat_interleave(30, dim=0)  # (240, 2): every mode
    far = torch.zeros(60, 2)  # the ring's centre is 2 away from every mode
    coverage = mode_coverage(torch.cat([on_mode, far]), MODES, radius=0.15)
    assert coverage.modes_covered == 8
    assert coverage.off_mode_fraction == pytest.approx(60 / 300)


def test_a_mode_needs_its_share_of_points_not_just_one():
    # 1000 points: 993 on mode 0, 7 on mode 1. Fair share 125, a quarter of it 32 -> mode 1 is not covered.
    points = torch.cat([MODES[0].expand(993, 2), MODES[1].expand(7, 2)])
    coverage = mode_coverage(points, MODES, radius=0.15)
    assert coverage.min_points == 32
    assert coverage.covered[:2] == (True, False) and coverage.modes_covered == 1
    assert mode_coverage(points, MODES, radius=0.15, min_share=0.05).covered[:2] == (True, True)


def test_the_radius_decides_what_is_near():
    points = MODES + torch.tensor([0.1, 0.0])  # every point 0.1 from its mode
    assert mode_coverage(points, MODES, radius=0.15).modes_covered == 8
    assert mode_coverage(points, MODES, radius=0.05).modes_covered == 0
    assert mode_coverage(points, MODES, radius=0.05).off_mode_fraction == 1


def test_no_points_cover_nothing():
    coverage = mode_coverage(torch.zeros(0, 2), MODES, radius=0.15)
    assert coverage.modes_covered == 0 and coverage.off_mode_fraction == 0


def test_support_coverage_of_identical_shifted_and_half_sets():
    real = torch.rand(500, 2, generator=torch.Generator().manual_seed(0)) * 4 - 2
    assert support_coverage(real, real, 0.1) == support_coverage(real, real, 0.1)
    same_set = support_coverage(real, real, 0.1)
    assert same_set.precision == 1 and same_set.recall == 1
    far = support_coverage(real + 10, real, 0.1)
    assert far.precision == 0 and far.recall == 0
    left = real[real[:, 0] < 0]  # fakes only on the left half: all on the data, about half of it reached
    half = support_coverage(left, real, 0.05)
    assert half.precision == 1 and 0.4 < half.recall < 0.6


# --- the GAN step's contract (training.py), which the lab relies on ---

def gan_and_context(ring_small, d_steps=1):
    spec = registry.family("gan")
    config = dataclasses.replace(tiny_config("gan", ring_small), d_steps=d_steps)
    model = registry.build_model(spec, config, seed=0)
    device = torch.device("cpu")
    optimizers = registry.gan_adams(model, TrainConfig(lr=1e-2, device="cpu"), device)
    return model, StepContext(device=device, generator=torch.Generator().manual_seed(0),
                                       optimizers=optimizers)


def test_the_discriminator_phase_never_reaches_the_generator(ring_small):
    model, ctx = gan_and_context(ring_small)
    g_before, d_before = parameters(model.generator), parameters(model.discriminator)
    discriminator_step(model, ring_small.train_x[:64], ctx)
    # The fakes are detached: D's backward pass leaves no gradient on G, and G's weights are unchanged.
    assert all(p.grad is None for p in model.generator.parameters())
    assert same(parameters(model.generator), g_before)
    assert not same(parameters(model.discriminator), d_before)


def test_the_generator_phase_leaves_the_discriminator_alone(ring_small):
    model, ctx = gan_and_context(ring_small)
    discriminator_step(model, ring_small.train_x[:64], ctx)  # D now holds gradients of its own
    d_grads = [p.grad.clone() for p in model.discriminator.parameters()]
    d_before, g_before = parameters(model.discriminator), parameters(model.generator)
    generator_step(model, 64, ctx)
    assert same(parameters(model.discriminator), d_before)
    assert same([p.grad for p in model.discriminator.parameters()], d_grads)  # D's grads untouched
    assert not same(parameters(model.generator), g_before)
    assert all(p.requires_grad for p in model.discriminator.parameters())  # unfrozen again afterwards


def test_gan_step_updates_d_steps_times_then_g_once(ring_small):
    model, ctx = gan_and_context(ring_small, d_steps=3)
    order = []
    for name, optimizer in ctx.optimizers.items():
        step = optimizer.step

        def recording_step(*args, name=name, step=step, **kwargs):
            order.append(name)
            return step(*args, **kwargs)

        optimizer.step = recording_step
    terms = gan_step(model, ring_small.train_x[:64], None, ctx)
    assert order == ["discriminator"] * 3 + ["generator"]
    assert set(terms) == {"d_loss", "d_real", "d_fake", "g_loss"}


# --- the lab ---

def test_lab_config_is_validated_with_the_valid_values_in_the_message():
    with pytest.raises(ConfigError, match="dataset must be one of"):
        LabConfig(dataset="fashion-mnist")
    with pytest.raises(ConfigError, match="g_hidden must be between 2 and 512"):
        LabConfig(g_hidden=5000)
    with pytest.raises(ConfigError, match="lr_d must be between"):
        LabConfig(lr_d=1.0)
    with pytest.raises(ConfigError, match="batch_size must be one of"):
        LabConfig(batch_size=100)


def test_every_preset_is_valid_and_explained():
    presets = presets_for("gan_lab")
    assert lab_settings.DEFAULT_PRESET in presets and preset_config(lab_settings.DEFAULT_PRESET) == LabConfig()
    for key, preset in presets.items():
        assert preset_config(key).model_config().data == "points"
        assert len(preset.note) > 40 and preset.title


def test_settle_keeps_valid_values_and_explains_the_nearest_valid_one():
    assert lab_settings.settle("g_hidden", 64, 64) == (64, None)
    value, message = lab_settings.settle("g_hidden", 5000, 64)
    assert value == 512 and "G width must be a whole number from 2 to 512; got 5000" in message
    value, message = lab_settings.settle("lr_g", 3e-3, 2e-3)
    assert value == 2e-3 and "not on the ladder" in message
    value, message = lab_settings.settle("dataset", "toy-cube", "toy-ring")
    assert value == "toy-ring" and "toy-moons" in message
    value, message = lab_settings.settle("batch_size", 300, 256)
    assert value == 256 and message
    value, message = lab_settings.settle("d_steps", "many", 1)
    assert value == 1 and "whole number from 1 to 10" in message


def test_a_lab_takes_steps_and_keeps_a_history(ring):
    lab = lab_on(ring)
    assert lab.step == 0 and lab.history == []
    assert lab.train(5) == 5
    assert lab.step == 5 and lab.d_updates == 5 and lab.g_updates == 5
    assert [row["step"] for row in lab.history] == [1, 2, 3, 4, 5]
    assert set(lab.history[-1]) >= {"d_loss", "g_loss", "d_real", "d_fake", "seconds"}


def test_d_only_moves_d_and_g_only_moves_g(ring):
    lab = lab_on(ring)
    g_before, d_before = parameters(lab.model.generator), parameters(lab.model.discriminator)
    generated = lab.generate()
    lab.step_discriminator()
    assert same(parameters(lab.model.generator), g_before) and torch.equal(lab.generate(), generated)
    assert not same(parameters(lab.model.discriminator), d_before)
    d_after = parameters(lab.model.discriminator)
    lab.step_generator()
    assert same(parameters(lab.model.discriminator), d_after)
    assert not torch.equal(lab.generate(), generated)
    assert (lab.step, lab.d_updates, lab.g_updates) == (2, 1, 1)
    assert lab.history[0].get("g_loss") is None and lab.history[1].get("d_loss") is None


def test_same_seed_same_run_and_reset_starts_over(ring):
    first, second = lab_on(ring, seed=3), lab_on(ring, seed=3)
    first.train(20)
    second.train(20)
    assert torch.equal(first.generate(), second.generate())
    assert torch.equal(first.canvas().surface, second.canvas().surface)
    start = lab_on(ring, seed=3).generate()
    first.reset()
    assert first.step == 0 and first.history == [] and torch.equal(first.generate(), start)
    assert not torch.equal(lab_on(ring, seed=4).generate(), start)


def test_keep_going_is_asked_before_every_step(ring):
    lab = lab_on(ring)
    assert lab.train(1000, keep_going=lambda: lab.step < 7) == 7
    assert lab.train(1000, keep_going=lambda: False) == 0 and lab.step == 7


@pytest.mark.parametrize("action", ["pause", "reset"])
def test_a_pause_or_reset_from_another_thread_ends_training_at_the_next_step(ring, action):
    """The page's protocol when a click reruns it while the last run is still training: clear the
    running flag, then take the lock (and reset under it). Training stops at its next step, and
    nothing trains after the click has read (or reset) the lab."""
    lab = lab_on(ring, seed=5)
    running = threading.Event()
    running.set()
    trainer = threading.Thread(target=lab.train, args=(1_000_000,), kwargs={"max_seconds": 30,
                                                                            "keep_going": running.is_set})
    trainer.start()
    while lab.step < 3:
        time.sleep(0.001)
    running.clear()
    if action == "reset":
        lab.reset()
        seen = 0
    else:
        with lab.lock:
            seen = lab.step
    trainer.join(10)
    assert not trainer.is_alive()
    assert lab.step == seen
    if action == "reset":
        assert lab.history == [] and torch.equal(lab.generate(), lab_on(ring, seed=5).generate())


def test_retune_changes_rates_and_d_steps_but_keeps_the_model(ring):
    lab = lab_on(ring)
    lab.train(3)
    lab.retune(lr_g=1e-4, lr_d=5e-4, d_steps=2)
    assert lab.step == 3
    assert lab.optimizers["generator"].param_groups[0]["lr"] == 1e-4
    assert lab.optimizers["discriminator"].param_groups[0]["lr"] == 5e-4
    assert lab.model.config.d_steps == 2
    lab.train(1)
    assert lab.d_updates == 3 + 2
    with pytest.raises(ConfigError, match="only change with a new model"):
        lab.retune(g_hidden=32)


def test_the_canvas_layers_have_the_promised_shapes(ring):
    lab = lab_on(ring)
    canvas = lab.canvas()
    n, cells = gan_lab.SHOWN_POINTS, gan_lab.SURFACE_CELLS
    assert canvas.real.shape == (n, 2) and canvas.generated.shape == (n, 2)
    assert canvas.surface.shape == (cells, cells) and canvas.surface_axis.shape == (cells,)
    assert 0 <= canvas.surface.min() and canvas.surface.max() <= 1
    assert canvas.noise_lines.shape == (2 * gan_lab.NOISE_TICKS, 41, 2)
    assert "z1 and z2" in canvas.noise_plane and "held at 0" in canvas.noise_plane
    assert canvas.arrows_from.shape == canvas.arrows_to.shape == (gan_lab.ARROWS, 2)
    assert (canvas.arrows_to - canvas.arrows_from).norm(dim=1).max() <= 0.5 + 1e-6
    assert canvas.span >= 2.5  # the ring's radius is 2


def test_the_surface_is_ds_verdict_where_it_is_drawn(ring):
    lab = lab_on(ring)
    lab.train(10)
    canvas = lab.canvas()
    i, j = 7, 42  # the cell at x = axis[j], y = axis[i]
    point = torch.tensor([[canvas.surface_axis[j].item(), canvas.surface_axis[i].item()]])
    logit = lab.model.discriminate(point).item()
    assert canvas.surface[i, j].item() == pytest.approx(1 / (1 + math.exp(-logit)), abs=1e-5)
    squares = lab_on(ring, loss="least_squares")
    output = squares.model.discriminate(point).item()
    assert squares.canvas().surface[i, j].item() == pytest.approx(min(max(output, 0), 1), abs=1e-5)


@pytest.mark.parametrize("latent_dim, lines, plane", [(1, 1, "1-D"), (2, 18, "whole 2-D"), (8, 18, "8-D")])
def test_the_noise_grid_follows_the_latent_size(ring, latent_dim, lines, plane):
    canvas = lab_on(ring, latent_dim=latent_dim).canvas()
    assert canvas.noise_lines.shape[0] == lines and plane in canvas.noise_plane


def test_the_noise_grid_is_g_of_the_grid(ring):
    lab = lab_on(ring, latent_dim=3)
    lines, _ = lab.noise_grid()
    z = torch.tensor([[-2.0, -2.0, 0.0]])  # the first point of the first line: z1 = z2 = -2, z3 = 0
    assert torch.allclose(lines[0, 0], lab.model.decode(z)[0])


def test_quality_counts_modes_on_the_ring_and_support_on_the_spiral(ring):
    quality = lab_on(ring).quality()
    assert quality.modes is not None and quality.modes.modes == 8 and quality.support is None
    spiral = GANLab(dataclasses.replace(SMALL, dataset="toy-spiral"), data.toy("toy-spiral", n_train=2000))
    quality = spiral.quality()
    assert quality.modes is None and 0 <= quality.support.recall <= 1


def test_the_history_stays_bounded_and_spans_the_whole_run(ring, monkeypatch):
    monkeypatch.setattr(gan_lab, "MAX_HISTORY", 10)
    lab = lab_on(ring)
    lab.train(45)
    # 10 rows of 1 step -> 5 of 2, 10 of 2 -> 5 of 4, 10 of 4 -> 5 of 8; steps 41 to 45 still pending.
    assert lab.history_stride == 8
    assert [row["step"] for row in lab.history] == [8, 16, 24, 32, 40]
    assert all(row["d_loss"] is not None for row in lab.history)


def test_averaging_rows_skips_missing_terms():
    merged = gan_lab.average_rows([{"step": 1, "seconds": 0.1, "d_loss": 1.0, "g_loss": None},
                                   {"step": 2, "seconds": 0.2, "d_loss": 3.0, "g_loss": 4.0}])
    assert merged == {"step": 2, "seconds": 0.2, "d_loss": 2.0, "g_loss": 4.0}


def test_a_time_budget_ends_training_early(ring):
    lab = lab_on(ring)
    assert lab.train(1_000_000, max_seconds=0.05) < 1_000_000


def test_nan_weights_raise_with_advice(ring):
    lab = lab_on(ring)
    with torch.no_grad():
        next(lab.model.discriminator.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="Lower the learning rates"):
        lab.train(1)


def test_training_runs_in_one_thread_and_leaves_other_threads_alone():
    import threading

    def count_in_a_new_thread() -> int:
        seen = []
        thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        return seen[0]

    original = torch.get_num_threads()
    torch.set_num_threads(2)  # as on a 2-core server
    try:
        inside = []
        with gan_lab.one_thread():
            inside.append(torch.get_num_threads())
            inside.append(count_in_a_new_thread())  # e.g. a training job started meanwhile
        assert inside == [1, 2] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(original)


def test_diagnosis_names_a_winning_discriminator(ring):
    lab = lab_on(ring)
    assert lab.diagnose().kind == "too_early"
    lab.step = 500
    lab.history = [{"step": s, "seconds": 0.0, "d_real": 0.95, "d_fake": 0.05} for s in range(301, 501)]
    assert lab.diagnose().kind == "d_wins"


def quality_of(points: torch.Tensor, ring) -> Quality:
    spread = (points.std(dim=0).norm() / ring.train_x[:1000].std(dim=0).norm()).item()
    return Quality(modes=mode_coverage(points, ring.modes, 0.15), support=None, spread=spread)


def test_diagnosis_tells_collapse_and_hopping_from_a_healthy_spread(ring):
    lab = lab_on(ring)
    lab.step = 3000
    lab.history = [{"step": s, "seconds": 0.0, "d_real": 0.5, "d_fake": 0.5} for s in range(2801, 3001)]
    noise = 0.03 * torch.randn(1000, 2, generator=torch.Generator().manual_seed(0))
    clump = ring.modes[2] + noise  # every fake on mode 3
    lab.coverage_log.extend([(2900, frozenset({2})), (2950, frozenset({2}))])
    assert lab.diagnose(quality_of(clump, ring)).kind == "mode_collapse"
    lab.coverage_log.extend([(2000, frozenset({0})), (2500, frozenset({1}))])  # the clump was elsewhere before
    assert lab.diagnose(quality_of(clump, ring)).kind == "mode_hopping"
    everywhere = ring.modes.repeat(125, 1) + noise  # (1000, 2): every mode, on the modes
    assert lab.diagnose(quality_of(everywhere, ring)).kind == "converged"
    half = ring.modes[:4].repeat(250, 1) + noise  # four neighbouring modes: wide, but half the ring missing
    assert lab.diagnose(quality_of(half, ring)).kind == "mode_collapse"


def test_recent_verdicts_are_on_the_surfaces_scale(ring):
    lab = lab_on(ring)
    assert lab.recent_verdicts() is None
    sigmoid = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731  (what the trainer logs for both losses)
    rows = [{"step": s, "seconds": 0.0, "d_real": sigmoid(1.0), "d_fake": sigmoid(0.0)} for s in range(1, 11)]
    lab.history = rows
    assert lab.recent_verdicts() == pytest.approx((sigmoid(1.0), 0.5))
    squares = lab_on(ring, loss="least_squares")
    squares.history = rows
    assert squares.recent_verdicts() == pytest.approx((1.0, 0.0))  # D's raw output: 1 on real, 0 on fake


def test_the_default_preset_covers_the_ring_and_the_collapse_preset_does_not():
    """The lesson's promise, on the real ring: seconds of CPU each (see the README for timings)."""
    ring = data.toy("toy-ring")
    balanced = GANLab(preset_config("balanced"), ring)
    balanced.train(1200)
    assert balanced.first_full_coverage is not None  # seed 0 gets there after about 850 steps
    collapsed = GANLab(preset_config("collapse"), ring)
    collapsed.train(800)
    assert collapsed.quality().modes.modes_covered <= 2
    spread = collapsed.generate().std(dim=0).norm()  # one clump: far narrower than the ring (about 2)
    assert spread < 0.8 * ring.train_x.std(dim=0).norm()
