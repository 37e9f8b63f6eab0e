"""Corruptions at strength 0 and 1, and the image metrics against known values."""

import math

import pytest
import torch

from genmodels import corruption
from genmodels.metrics.image_quality import psnr, ssim


@pytest.fixture
def images():
    return torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("kind", corruption.CORRUPTIONS)
def test_every_corruption_is_the_identity_at_strength_zero(kind, images):
    assert torch.equal(corruption.corrupt(images, kind, 0.0, torch.Generator().manual_seed(1)), images)


def test_corruptions_at_full_strength(images):
    g = torch.Generator().manual_seed(2)
    assert torch.equal(corruption.corrupt(images, "masking", 1.0, g), torch.zeros_like(images))
    salt_pepper = corruption.corrupt(images, "salt_pepper", 1.0, g)
    assert set(salt_pepper.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(corruption.corrupt(images, "block", 1.0, g), torch.zeros_like(images))
    noisy = corruption.corrupt(images, "gaussian", 1.0, g)
    assert 0 <= noisy.min() and noisy.max() <= 1 and not torch.equal(noisy, images)


def test_corruption_strength_sets_the_fraction_of_pixels_hit():
    ones = torch.ones(64, 1, 28, 28)
    masked = corruption.corrupt(ones, "masking", 0.3, torch.Generator().manual_seed(3))
    assert abs((masked == 0).float().mean().item() - 0.3) < 0.01
    block = corruption.corrupt(ones, "block", 0.5, torch.Generator().manual_seed(3))
    assert ((block == 0).flatten(1).sum(dim=1) == 14 * 14).all()  # one 14x14 square per image


def test_corruption_is_reproducible_for_a_seed(images):
    a = corruption.corrupt(images, "gaussian", 0.5, torch.Generator().manual_seed(9))
    b = corruption.corrupt(images, "gaussian", 0.5, torch.Generator().manual_seed(9))
    assert torch.equal(a, b)


def test_psnr_known_values():
    target = torch.zeros(2, 1, 4, 4)
    prediction = torch.full((2, 1, 4, 4), 0.1)  # MSE 0.01 -> 20 dB
    assert torch.allclose(psnr(prediction, target), torch.tensor([20.0, 20.0]))
    assert psnr(target, target)[0].item() == pytest.approx(100.0)


def test_ssim_is_one_for_identical_images_and_drops_with_noise(images):
    assert torch.allclose(ssim(images, images), torch.ones(4), atol=1e-5)
    noisy = (images + 0.2 * torch.randn(images.shape, generator=torch.Generator().manual_seed(4))).clamp(0, 1)
    assert (ssim(noisy, images) < 0.9).all()


def test_ssim_of_a_constant_shift_matches_the_closed_form():
    # For constant images x = a, y = b the variances vanish and SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    a, b, c1 = 0.2, 0.6, 0.01**2
    x, y = torch.full((1, 1, 16, 16), a), torch.full((1, 1, 16, 16), b)
    assert ssim(x, y).item() == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-4)
    assert math.isfinite(ssim(x, y).item())
