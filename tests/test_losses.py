"""Losses against closed forms and torch.distributions."""

import math

import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Normal, kl_divergence

from genmodels import losses


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    posterior = Normal(mu, torch.exp(0.5 * logvar))
    expected = kl_divergence(posterior, Normal(0.0, 1.0)).sum(dim=1).mean()  # summed over dims, mean over batch
    assert torch.allclose(losses.gaussian_kl(mu, logvar), expected, atol=1e-5)


def test_gaussian_kl_is_zero_at_the_prior():
    assert losses.gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0


def test_bce_is_summed_over_pixels_and_averaged_over_the_batch():
    g = torch.Generator().manual_seed(1)
    logits, target = torch.randn(4, 1, 28, 28, generator=g), torch.rand(4, 1, 28, 28, generator=g)
    # Soft targets are outside Bernoulli's support check, but its log_prob formula holds for them.
    expected = -Bernoulli(logits=logits, validate_args=False).log_prob(target).sum() / 4
    assert torch.allclose(losses.bce_per_image(logits, target), expected, rtol=1e-5)
    # Same number as pytorch/examples vae's F.binary_cross_entropy(sigmoid(.), x, reduction="sum") / B
    classic = F.binary_cross_entropy(torch.sigmoid(logits), target, reduction="sum") / 4
    assert torch.allclose(losses.bce_per_image(logits, target), classic, rtol=1e-4)


def test_negative_elbo_adds_beta_times_kl():
    g = torch.Generator().manual_seed(2)
    logits, x = torch.randn(3, 1, 4, 4, generator=g), torch.rand(3, 1, 4, 4, generator=g)
    mu, logvar = torch.randn(3, 2, generator=g), torch.randn(3, 2, generator=g)
    loss, bce, kl = losses.negative_elbo(logits, x, mu, logvar, beta=4.0)
    assert torch.allclose(loss, bce + 4.0 * kl)


def kl_bernoulli(rho, rho_hat):
    return rho * math.log(rho / rho_hat) + (1 - rho) * math.log((1 - rho) / (1 - rho_hat))


def test_sparsity_penalty_is_zero_when_every_unit_averages_rho():
    code = torch.full((8, 10), 0.05)
    assert losses.sparsity_kl(code, 0.05).item() == 0.0


def test_sparsity_penalty_uses_the_per_unit_mean_over_the_batch():
    # Unit 0 is on for half the batch, unit 1 always at 0.2: rho_hat = (0.5, 0.2).
    code = torch.tensor([[1.0, 0.2], [0.0, 0.2]])
    expected = kl_bernoulli(0.1, 0.5) + kl_bernoulli(0.1, 0.2)
    assert math.isclose(losses.sparsity_kl(code, 0.1).item(), expected, rel_tol=1e-5)
    # Averaging over the whole matrix instead (a common bug) would give a different number.
    assert not math.isclose(expected, 2 * kl_bernoulli(0.1, code.mean().item()), rel_tol=1e-3)


def test_sparsity_penalty_grows_as_units_drift_from_rho():
    values = [losses.sparsity_kl(torch.full((4, 3), p), 0.05).item() for p in (0.05, 0.1, 0.3, 0.6)]
    assert values == sorted(values) and values[0] == 0


def test_gan_losses_match_their_formulas_on_logits():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_d = -torch.log(d_real).mean() - torch.log(1 - d_fake).mean()
    assert torch.allclose(losses.discriminator_loss(real, fake), expected_d, atol=1e-6)
    assert torch.allclose(losses.generator_loss_nonsaturating(fake), -torch.log(d_fake).mean(), atol=1e-6)
    assert torch.allclose(losses.discriminator_loss_least_squares(real, fake),
                          0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean())
    assert torch.allclose(losses.generator_loss_least_squares(fake), 0.5 * ((fake - 1) ** 2).mean())


def test_gan_losses_stay_finite_for_extreme_logits():
    huge = torch.tensor([1e4, -1e4])
    assert torch.isfinite(losses.discriminator_loss(huge, -huge))
    assert torch.isfinite(losses.generator_loss_nonsaturating(-huge))
