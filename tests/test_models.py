"""Contract tests, parametrised over every registered family: shapes, ranges, determinism."""

import pytest
import torch

from genmodels import registry
from genmodels.errors import ConfigError
from genmodels.models.autoencoder import AutoencoderConfig
from genmodels.models.gan import GANConfig
from genmodels.models.vae import VAEConfig

from .conftest import tiny_config

FAMILIES = list(registry.FAMILIES)


@pytest.mark.parametrize("family", FAMILIES)
def test_verbs_have_the_documented_shapes_and_ranges(family, sprites_small):
    spec = registry.family(family)
    config = tiny_config(family, sprites_small)
    model = registry.build_model(spec, config, seed=0).eval()
    x = sprites_small.test_x[:5]  # (5, 1, 28, 28)
    if "encode" in spec.verbs:
        code = model.encode(x)
        code = code.mu if hasattr(code, "mu") else code
        assert code.shape == (5, config.latent_dim)
        decoded = model.decode(code)
        assert decoded.shape == x.shape
        assert 0 <= decoded.min() and decoded.max() <= 1
    if "reconstruct" in spec.verbs:
        recon = model.reconstruct(x)
        assert recon.shape == x.shape and 0 <= recon.min() and recon.max() <= 1
    if "sample" in spec.verbs:
        samples = model.sample(7, generator=torch.Generator().manual_seed(1))
        assert samples.shape == (7, 1, 28, 28)
        assert 0 <= samples.min() and samples.max() <= 1


@pytest.mark.parametrize("family", [f for f in FAMILIES if "sample" in registry.family(f).verbs])
def test_sampling_is_deterministic_for_a_seed(family, sprites_small):
    spec = registry.family(family)
    model = registry.build_model(spec, tiny_config(family, sprites_small), seed=0).eval()
    a = model.sample(4, generator=torch.Generator().manual_seed(5))
    b = model.sample(4, generator=torch.Generator().manual_seed(5))
    c = model.sample(4, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("family", FAMILIES)
def test_weights_are_reproducible_from_the_seed_without_touching_the_global_rng(family, sprites_small):
    spec = registry.family(family)
    config = tiny_config(family, sprites_small)
    before = torch.random.get_rng_state()
    first = registry.build_model(spec, config, seed=1).state_dict()
    again = registry.build_model(spec, config, seed=1).state_dict()
    other = registry.build_model(spec, config, seed=2).state_dict()
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert any(not torch.equal(first[k], other[k]) for k in first if first[k].is_floating_point())


def test_conv_models_handle_32x32_colour():
    for config in (VAEConfig(arch="conv", hidden=(8, 16), channels=3, image_size=32, latent_dim=4),
                   AutoencoderConfig(arch="conv", hidden=(8, 16), channels=3, image_size=32, latent_dim=4)):
        model = (registry.FAMILIES["vae"].model_class if isinstance(config, VAEConfig)
                 else registry.FAMILIES["ae"].model_class)(config)
        assert model.reconstruct(torch.rand(2, 3, 32, 32)).shape == (2, 3, 32, 32)
    gan = registry.FAMILIES["dcgan"].model_class(GANConfig(arch="conv", channels=3, image_size=32, g_hidden=8,
                                                          d_hidden=8, latent_dim=4)).eval()
    assert gan.sample(2).shape == (2, 3, 32, 32)
    assert gan.discriminate(torch.rand(2, 3, 32, 32)).shape == (2,)


def test_gan_on_points_generates_points(ring_small):
    spec = registry.family("gan")
    model = registry.build_model(spec, tiny_config("gan", ring_small))
    assert model.sample(10).shape == (10, 2)


@pytest.mark.parametrize("bad, message", [
    (lambda: VAEConfig(latent_dim=0), "latent_dim must be between"),
    (lambda: VAEConfig(arch="transformer"), "arch must be one of 'mlp', 'conv'"),
    (lambda: AutoencoderConfig(sparsity_weight=1.0), "needs code_activation='sigmoid'"),
    (lambda: AutoencoderConfig(corruption="fog"), "corruption must be one of"),
    (lambda: GANConfig(arch="conv", data="points"), "2-D point datasets need arch='mlp'"),
    (lambda: VAEConfig(image_size=64), "image_size must be one of"),
    (lambda: VAEConfig(beta=float("nan")), "beta must be a finite number"),
    (lambda: registry.family("diffusion"), "valid: ae, sparse_ae, dae, vae, gan, dcgan"),
])
def test_invalid_settings_are_refused_with_the_valid_values(bad, message):
    with pytest.raises(ConfigError, match=message):
        bad()


def test_a_family_refuses_data_of_the_wrong_kind(ring_small):
    with pytest.raises(ConfigError, match="trains on image data"):
        registry.model_config(registry.family("vae"), ring_small)
