"""The Compare page's 2-D VAE (models/vae.PointVAE, lessons/compare.train_point_vae): its loss is
the Gaussian -ELBO written out, and a short run learns the ring."""

import math

import torch

from genmodels import losses
from genmodels.data import load_dataset
from genmodels.lessons.compare import train_point_vae
from genmodels.lessons.gan_lab import mode_radius
from genmodels.metrics.coverage import mode_coverage


def test_the_point_elbo_is_the_gaussian_negative_log_likelihood_plus_the_kl():
    generator = torch.Generator().manual_seed(0)
    mean, target = torch.randn(5, 2, generator=generator), torch.randn(5, 2, generator=generator)
    mu, logvar = torch.randn(5, 2, generator=generator), torch.randn(5, 2, generator=generator)
    sigma = 0.3
    loss, reconstruction, kl = losses.point_negative_elbo(mean, target, mu, logvar, sigma)
    # -log N(x; mean, sigma^2 I) without its constant D log(sigma sqrt(2 pi)), averaged over points
    gaussian = torch.distributions.Normal(mean, sigma)
    constant = 2 * math.log(sigma * math.sqrt(2 * math.pi))
    by_hand = (-gaussian.log_prob(target).sum(dim=1) - constant).mean()
    torch.testing.assert_close(reconstruction, by_hand)
    torch.testing.assert_close(loss, reconstruction + kl)


def test_a_short_run_learns_the_ring():
    ring = load_dataset("toy-ring", "cpu")
    model, seconds = train_point_vae(ring, steps=1500, seed=0)
    samples = model.sample(1000, torch.Generator().manual_seed(0))
    assert samples.shape == (1000, 2) and seconds > 0
    assert mode_coverage(samples, ring.modes, mode_radius(ring)).modes_covered >= 6
