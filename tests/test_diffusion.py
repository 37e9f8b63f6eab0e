"""Diffusion and flow matching: the forward process against its closed forms, the samplers against
exact answers, DDIM's determinism, a few seconds of training that lower the loss and pull samples
towards the data, checkpoint round trips, and the 2-D lab's default covering the ring."""

import math

import pytest
import torch

from genmodels import checkpoints, diffusion, losses, registry
from genmodels.configs import TrainConfig
from genmodels.errors import ConfigError
from genmodels.lessons.diffusion_lab import DiffusionLab, DiffusionLabConfig
from genmodels.models.diffusion import DiffusionConfig
from genmodels.training import loop

from .conftest import tiny_config

# --- the forward process -----------------------------------------------------------------------

@pytest.mark.parametrize("schedule", diffusion.SCHEDULES)
def test_the_closed_form_marginal_has_the_stated_mean_and_variance(schedule):
    x0 = torch.tensor([[1.5, -0.5]]).expand(200_000, 2)  # one known x_0, many noise draws
    g = torch.Generator().manual_seed(0)
    for i in (0, 99, 499, 999):
        abar = diffusion.alpha_bars(schedule)[i].item()
        x = diffusion.ddpm_marginal(x0, torch.full((len(x0),), i), torch.randn(x0.shape, generator=g), schedule)
        assert torch.allclose(x.mean(0), math.sqrt(abar) * x0[0], atol=0.01)
        assert torch.allclose(x.var(0), torch.full((2,), 1 - abar), atol=0.01)


def test_the_marginal_is_what_the_one_step_chain_gives():
    """Run q(x_i | x_{i-1}) = N(sqrt(1 - beta_i) x_{i-1}, beta_i) step by step: after i steps the
    mean and variance are the closed form's sqrt(abar_i) x_0 and 1 - abar_i."""
    g = torch.Generator().manual_seed(1)
    x = torch.full((20_000,), 2.0, dtype=torch.float64)
    betas = diffusion.betas("cosine")
    for i in range(300):
        x = (1 - betas[i]).sqrt() * x + betas[i].sqrt() * torch.randn(x.shape, generator=g, dtype=torch.float64)
    abar = diffusion.alpha_bars("cosine")[299].item()
    assert abs(x.mean().item() - 2 * math.sqrt(abar)) < 0.03  # 3 standard errors of 20,000 draws
    assert abs(x.var().item() - (1 - abar)) < 0.03


def test_the_schedules_are_as_the_papers_define_them():
    linear = diffusion.betas("linear")
    assert math.isclose(linear[0].item(), 1e-4) and math.isclose(linear[-1].item(), 0.02)
    cosine = diffusion.alpha_bars("cosine")
    assert (cosine[1:] < cosine[:-1]).all() and cosine[0] > 0.9999 and cosine[-1] < 1e-4
    assert diffusion.betas("cosine").max() <= 0.999 + 1e-12


def test_the_flow_path_runs_from_data_to_noise_at_the_stated_velocity():
    g = torch.Generator().manual_seed(2)
    x0, noise = torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g)
    assert torch.equal(diffusion.flow_path(x0, torch.zeros(5), noise), x0)
    assert torch.equal(diffusion.flow_path(x0, torch.ones(5), noise), noise)
    x0, noise, t, h = x0.double(), noise.double(), torch.full((5,), 0.3, dtype=torch.float64), 1e-4
    numeric = (diffusion.flow_path(x0, t + h, noise) - diffusion.flow_path(x0, t, noise)) / h
    assert torch.allclose(numeric, diffusion.flow_velocity(x0, noise), atol=1e-8)


# --- samplers against exact answers --------------------------------------------------------------

CENTRE = torch.tensor([1.0, -2.0])


def exact_noise(x, t):
    """For data that is one point c, eps = (x_i - sqrt(abar_i) c) / sqrt(1 - abar_i) exactly."""
    abar = diffusion.alpha_bars("linear")[(t * diffusion.TIMESTEPS).round().long() - 1].to(x.dtype).view(-1, 1)
    return (x - abar.sqrt() * CENTRE) / (1 - abar).sqrt()


SPREAD = 0.5


def exact_velocity(x, t):
    """For Gaussian data N(c, s^2 I), x_t = (1 - t) x_0 + t eps is Gaussian with mean m_t = (1 - t) c
    and variance v_t = (1 - t)^2 s^2 + t^2, and E[eps - x_0 | x_t] = -c + (t - (1 - t) s^2) / v_t (x_t - m_t).
    The ODE it defines carries noise z at t = 1 to c + s z at t = 0."""
    t = t.view(-1, 1)
    variance = (1 - t) ** 2 * SPREAD**2 + t**2
    return -CENTRE + (t - (1 - t) * SPREAD**2) / variance * (x - (1 - t) * CENTRE)


@pytest.mark.parametrize("steps", [1, 10, 1000])
def test_ddim_with_the_exact_noise_lands_on_the_data(steps):
    noise = torch.randn(50, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    out = diffusion.sample_ddpm(exact_noise, noise, steps, None, "linear", eta=0.0)
    assert torch.allclose(out.x, CENTRE.double().expand(50, 2), atol=1e-6)
    assert out.evaluations == steps and out.times[0] == 1.0 and out.times[-1] == 0.0


def test_flow_samplers_with_the_exact_velocity_reach_the_data_heun_faster():
    noise = torch.randn(50, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    target = CENTRE.double() + SPREAD * noise
    errors = {}
    for method in ("euler", "heun"):
        for steps in (10, 40):
            out = diffusion.sample_flow(exact_velocity, noise, steps, method, keep_path=True)
            errors[method, steps] = (out.x - target).abs().max().item()
            assert len(out.path) == steps + 1 and out.evaluations == steps * (2 if method == "heun" else 1)
    assert errors["heun", 40] < 1e-3 and errors["heun", 40] < errors["euler", 40] / 10 and errors["euler", 40] < 0.1
    assert errors["euler", 40] < errors["euler", 10] / 3  # first order: 4x the steps, about 1/4 the error
    assert errors["heun", 40] < errors["heun", 10] / 10  # second order: about 1/16


def test_the_ddpm_step_is_hos_ancestral_step():
    """eta = 1: mean 1/sqrt(alpha) (x - beta / sqrt(1 - abar) eps) and variance beta~ (Ho et al. eq. 11, 7)."""
    g = torch.Generator().manual_seed(5)
    x, eps, z = (torch.randn(4, 2, generator=g, dtype=torch.float64) for _ in range(3))
    abar_all = diffusion.alpha_bars("linear")
    abar, abar_prev = abar_all[500].item(), abar_all[499].item()
    alpha, beta = abar / abar_prev, 1 - abar / abar_prev
    mean = (x - beta / math.sqrt(1 - abar) * eps) / math.sqrt(alpha)
    variance = (1 - abar_prev) / (1 - abar) * beta
    step = diffusion.ddim_step(x, eps, abar, abar_prev, 1.0, z, None)
    assert torch.allclose(step, mean + math.sqrt(variance) * z, atol=1e-10)


def test_ddim_is_deterministic_for_a_seed_and_ddpm_is_not_without_one():
    model = registry.build_model(registry.family("ddpm"), DiffusionConfig(hidden=(16, 16)), seed=0)
    torch.nn.init.normal_(model.net.out.weight, generator=torch.Generator().manual_seed(1))  # a non-zero field
    noise = model.noise(20, torch.Generator().manual_seed(7))

    def run(sampler, seed):
        return model.run_sampler(noise, 25, sampler, torch.Generator().manual_seed(seed)).x

    assert torch.equal(run("ddim", 0), run("ddim", 0)) and torch.equal(run("ddim", 0), run("ddim", 99))
    assert torch.equal(run("ddpm", 0), run("ddpm", 0)) and not torch.equal(run("ddpm", 0), run("ddpm", 99))


# --- training -----------------------------------------------------------------------------------

def distance_to_modes(points, modes):
    return torch.cdist(points, modes).min(dim=1).values.mean().item()


@pytest.mark.parametrize("process", diffusion.PROCESSES)
def test_seconds_of_training_lower_the_loss_and_pull_samples_to_the_data(process, ring_small):
    lab = DiffusionLab(DiffusionLabConfig(process=process, width=64, depth=2, sample_steps=20), ring_small)
    before = distance_to_modes(lab.canvas(0.5).samples, ring_small.modes)
    lab.train(400)
    losses_seen = [row["loss"] for row in lab.history]
    assert sum(losses_seen[-50:]) / 50 < 0.8 * sum(losses_seen[:50]) / 50
    after = distance_to_modes(lab.canvas(0.5).samples, ring_small.modes)
    assert after < 0.5 * before


@pytest.mark.parametrize("process", diffusion.PROCESSES)
def test_the_families_train_on_images_through_the_loop(process, sprites_small):
    spec = registry.family(process)
    model = registry.build_model(spec, tiny_config(process, sprites_small), seed=0)
    config = TrainConfig(epochs=1, max_steps=6, batch_size=32, log_every=2, snapshot_every=3, device="cpu")
    events = list(loop.train(spec, model, sprites_small, config))
    shots = [e for e in events if isinstance(e, loop.Snapshot)]
    assert shots and shots[0].images.shape == (1, 16, 1, 28, 28)
    assert isinstance(events[-1], loop.Finished) and math.isfinite(events[-1].test["test_loss"])


def test_a_trained_model_round_trips_through_a_checkpoint(ring_small):
    lab = DiffusionLab(DiffusionLabConfig(process="flow", width=32, depth=1), ring_small)
    lab.train(30)
    info = checkpoints.make_info("flow", lab.model, dataset=ring_small.name)
    loaded = checkpoints.read_checkpoint(checkpoints.checkpoint_bytes(lab.model, info))
    assert loaded.info.model_config == lab.model.config
    a = lab.model.eval().sample(16, generator=torch.Generator().manual_seed(0), steps=5)
    b = loaded.model.sample(16, generator=torch.Generator().manual_seed(0), steps=5)
    assert torch.equal(a, b) and a.abs().sum() > 0


def test_the_losses_are_mean_squared_errors():
    a, b = torch.tensor([[0.0, 1.0], [2.0, 3.0]]), torch.zeros(2, 2)
    assert losses.noise_prediction_loss(a, b).item() == losses.flow_matching_loss(a, b).item() == 3.5


@pytest.mark.parametrize("bad, message", [
    ({"process": "score"}, "process must be one of"),
    ({"sampler": "euler"}, "sampler must be one of 'ddpm', 'ddim'"),
    ({"data": "image", "hidden": (8,)}, "two channel counts"),
    ({"sample_steps": 0}, "sample_steps must be between 1 and 1000"),
])
def test_bad_settings_are_refused_with_the_valid_values(bad, message):
    with pytest.raises(ConfigError, match=message):
        DiffusionConfig(**bad)


def test_the_default_lab_covers_all_eight_ring_modes():
    """The 2-D lab's default (ddpm, DDIM with 50 steps) on the ring: 8 of 8 modes within 2,000 steps."""
    lab = DiffusionLab(DiffusionLabConfig())
    lab.train(2000)
    assert lab.quality().modes.modes_covered == 8
