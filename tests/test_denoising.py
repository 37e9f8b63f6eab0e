"""Denoising helpers: shared corruption across models, the PCA baseline, robustness curves."""

import torch

from genmodels import registry
from genmodels.lessons import denoising

from .conftest import tiny_config


def test_every_model_sees_the_same_noisy_images(sprites_small):
    spec = registry.family("ae")
    model = registry.build_model(spec, tiny_config("ae", sprites_small)).eval()
    result = denoising.denoise({"a": model, "b": model}, sprites_small.test_x[:4], "gaussian", 0.3, seed=1)
    assert torch.equal(result.restored["a"], result.restored["b"])
    assert set(result.psnr) == {"noisy", "a", "b"} and result.psnr["noisy"].shape == (4,)
    again = denoising.denoise({"a": model}, sprites_small.test_x[:4], "gaussian", 0.3, seed=1)
    assert torch.equal(again.noisy, result.noisy)


def test_pca_with_all_components_reconstructs_exactly_and_fewer_lose_detail(sprites_small):
    images = sprites_small.train_x[:200]
    full = denoising.PCA.fit(images, k=200)
    assert torch.allclose(full.reconstruct(images), images, atol=1e-4)
    small = denoising.PCA.fit(images, k=5)
    assert (small.reconstruct(images) - images).abs().mean() > 0.01
    assert torch.allclose(small.components @ small.components.T, torch.eye(5), atol=1e-5)


def test_robustness_curve_of_the_noisy_input_falls_with_the_noise_level(sprites_small):
    curves = denoising.robustness({}, sprites_small.test_x[:32], "gaussian", [0.1, 0.3, 0.5])
    assert curves["noisy input"] == sorted(curves["noisy input"], reverse=True)


def test_familiarity_is_the_mahalanobis_distance_over_a_test_quantile():
    generator = torch.Generator().manual_seed(0)
    train = torch.randn(4000, 3, generator=generator) * torch.tensor([1.0, 2.0, 0.5])  # (N, D)
    test = torch.randn(2000, 3, generator=generator) * torch.tensor([1.0, 2.0, 0.5])
    familiar = denoising.fit_familiarity(train, test)
    far = torch.tensor([[0.0, 0.0, 5.0]])  # 10 standard deviations along the narrow axis
    centred = far - train.mean(dim=0)
    covariance = torch.cov(train.T, correction=0) + 1e-3 * torch.eye(3)
    by_hand = (centred @ torch.linalg.solve(covariance, centred.T)).item() / familiar.threshold
    assert torch.allclose(familiar.ratios(far), torch.tensor([by_hand]), rtol=1e-4)
    assert familiar.ratios(far).item() > 1 and familiar.ratios(train.mean(dim=0, keepdim=True)).item() < 1
    assert familiar.held_out_flagged < 0.03  # the other half of the test features, from the same Gaussian
