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


def test_reconstruction_error_flags_images_unlike_the_training_data(sprites_small):
    spec = registry.family("ae")
    model = registry.build_model(spec, tiny_config("ae", sprites_small))
    errors = denoising.reconstruction_errors(model, sprites_small.test_x[:10])
    assert errors.shape == (10,) and (errors >= 0).all()
