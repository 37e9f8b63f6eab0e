"""Code-layer statistics and decoder features."""

import pytest
import torch

from genmodels import registry
from genmodels.lessons import codes


@pytest.fixture
def sparse(sprites_small):
    spec = registry.family("sparse_ae")
    return registry.build_model(spec, registry.model_config(spec, sprites_small, latent_dim=12)).eval()


def test_feature_images_have_one_image_per_unit_in_range(sparse):
    features = codes.decoder_features(sparse)
    assert features.shape == (12, 1, 28, 28)
    assert features.min() == 0 and features.max() == 1


def test_features_need_a_single_layer_decoder(sprites_small):
    spec = registry.family("ae")
    stacked = registry.build_model(spec, registry.model_config(spec, sprites_small, hidden=(32,), latent_dim=4))
    with pytest.raises(ValueError, match="without hidden layers"):
        codes.decoder_features(stacked)


def test_activation_stats_count_dead_and_always_on_units(sparse, sprites_small):
    with torch.no_grad():
        bias = sparse.encoder[1][0].bias
        bias[0], bias[1] = -50.0, 50.0  # unit 0 never fires, unit 1 always does
    stats = codes.activation_stats(sparse, sprites_small.test_x[:50])
    assert stats.mean_per_unit.shape == (12,) and stats.activations.shape == (50, 12)
    assert stats.dead >= 1 and stats.always_on >= 1
    assert stats.mean_per_unit[0] < 0.01 and stats.mean_per_unit[1] > 0.9
    centres, counts = stats.histogram(10)
    assert len(centres) == len(counts) == 10 and sum(counts) == 50 * 12
