"""The Frechet distance's maths, the feature classifier's file format, and the sample-quality report."""

import math

import pytest
import torch

from genmodels import registry
from genmodels.checkpoints import checkpoint_bytes, make_info, save_checkpoint
from genmodels.configs import TrainConfig
from genmodels.data import Dataset
from genmodels.errors import CheckpointError
from genmodels.metrics import frechet
from genmodels.metrics.frechet import classifier_path, feature_statistics, frechet_distance, load_classifier
from genmodels.runtime import checkpoint_dir
from genmodels.training import loop
from tests.conftest import tiny_config


def test_frechet_distance_is_zero_for_identical_sets_and_grows_with_a_shift():
    features = torch.randn(2000, 6, generator=torch.Generator().manual_seed(0)) @ torch.randn(6, 6)
    mean, cov = feature_statistics(features)
    assert frechet_distance(mean, cov, mean, cov) == pytest.approx(0.0, abs=1e-8)
    distances = []
    for shift in (0.5, 1.0, 2.0):
        shifted_mean, shifted_cov = feature_statistics(features + shift)
        distances.append(frechet_distance(mean, cov, shifted_mean, shifted_cov))
        # The same covariance: only the means differ, by `shift` in each of 6 dimensions.
        assert distances[-1] == pytest.approx(6 * shift**2, rel=1e-6)
    assert distances == sorted(distances)


def test_frechet_distance_matches_the_closed_form_for_diagonal_covariances():
    # For diagonal S_a, S_b: d^2 = |mu_a - mu_b|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2
    a, b = torch.tensor([1.0, 4.0, 0.25]), torch.tensor([9.0, 1.0, 0.25])
    mean_a, mean_b = torch.zeros(3), torch.tensor([1.0, 0.0, -2.0])
    expected = 5.0 + sum((math.sqrt(x) - math.sqrt(y)) ** 2 for x, y in zip(a.tolist(), b.tolist()))
    assert frechet_distance(mean_a, torch.diag(a), mean_b, torch.diag(b)) == pytest.approx(expected, rel=1e-9)


def textures(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 1, 28, 28) images of four textures (horizontal stripes, vertical stripes, checks, flat
    grey) under noise, and their labels: a dataset a tiny classifier learns in a few steps."""
    generator = torch.Generator().manual_seed(seed)
    rows, cols = torch.arange(28)[:, None], torch.arange(28)[None, :]
    patterns = torch.stack([(rows // 2 % 2).expand(28, 28), (cols // 2 % 2).expand(28, 28),
                            (rows // 2 + cols // 2) % 2, torch.full((28, 28), 0.5)]).float()  # (4, 28, 28)
    labels = torch.randint(4, (n,), generator=generator)
    images = patterns[labels] * 0.8 + 0.2 * torch.rand((n, 28, 28), generator=generator)
    return images.unsqueeze(1), labels


@pytest.fixture(scope="module")
def texture_data():
    train_x, train_y = textures(512, 0)
    test_x, test_y = textures(256, 1)
    return Dataset("textures", "image", train_x, train_y, test_x, test_y, ("rows", "columns", "checks", "grey"),
                   "generated in the test")


def train_texture_classifier(data, epochs: int, width: int, seed: int):
    """The feature classifier trained as every family is (registry "classifier", the one loop)."""
    spec = registry.family("classifier")
    model = registry.build_model(spec, registry.model_config(spec, data, width=width), seed=seed)
    config = TrainConfig(epochs=epochs, batch_size=32, lr=1e-2, seed=seed, device="cpu", snapshot_every=0)
    finished = loop.fit(spec, model, data, config).finished
    return model.eval(), finished.test["test_accuracy"]


@pytest.fixture(scope="module")
def texture_classifier(texture_data):
    return train_texture_classifier(texture_data, epochs=2, width=8, seed=0)


def test_classifier_learns_its_dataset_without_touching_the_global_seed(texture_data, texture_classifier):
    model, accuracy = texture_classifier
    assert accuracy > 0.9  # four textures; chance is 0.25
    assert model.embed(texture_data.test_x[:4]).shape == (4, 16)
    before = torch.get_rng_state()
    train_texture_classifier(texture_data, epochs=1, width=4, seed=1)
    assert torch.equal(torch.get_rng_state(), before)


def test_classifier_file_round_trip(tmp_path, texture_data, texture_classifier):
    model, accuracy = texture_classifier
    path = classifier_path(tmp_path, "textures")
    save_checkpoint(path, model, make_info("classifier", model, dataset="textures",
                                           metrics={"test_accuracy": accuracy}))
    assert path == tmp_path / "metrics" / "textures-classifier.safetensors"
    loaded = load_classifier(path)
    assert loaded.info.dataset == "textures" and loaded.info.metrics["test_accuracy"] == accuracy
    x = texture_data.test_x[:8]
    assert torch.equal(loaded.model(x), model(x))


def test_the_shipped_classifier_is_a_classifier_checkpoint():
    loaded = load_classifier(classifier_path(checkpoint_dir(), "fashion-mnist"))
    assert loaded.info.family == "classifier" and loaded.info.metrics["test_accuracy"] > 0.8


def test_classifier_loader_refuses_other_files(tmp_path, texture_data, texture_classifier):
    model, _ = texture_classifier
    gan = registry.build_model(registry.family("gan"), tiny_config("gan", texture_data))
    save_checkpoint(tmp_path / "gan.safetensors", gan, make_info("gan", gan))  # a model, not a classifier
    good = checkpoint_bytes(model, make_info("classifier", model))
    (tmp_path / "wrong.safetensors").write_bytes(good.replace(b'\\"classes\\": 4', b'\\"classes\\": 5'))
    (tmp_path / "pickle.safetensors").write_bytes(b"\x80\x04\x95garbage")
    (tmp_path / "empty.safetensors").write_bytes(b"")
    for name, reason in [("gan", "not a feature classifier"), ("wrong", "head"), ("pickle", "pickle"),
                         ("empty", "too short|empty"), ("missing", "cannot read|not found|No such")]:
        with pytest.raises(CheckpointError, match=reason):
            load_classifier(tmp_path / f"{name}.safetensors")


def test_sample_quality_scores_real_data_near_the_floor_and_noise_far_above(texture_data, texture_classifier):
    model, _ = texture_classifier
    reference = frechet.real_statistics(model, texture_data, samples=256)
    assert reference.samples == 256 and reference.floor >= 0

    class Replay(torch.nn.Module):  # a "generator" that returns real training images: as good as it gets
        def __init__(self, images):
            super().__init__()
            self.images = torch.nn.Parameter(images, requires_grad=False)

        def sample(self, n, generator=None):
            pick = torch.randint(len(self.images), (n,), generator=generator, device=self.images.device)
            return self.images[pick]

    real = frechet.sample_quality(Replay(texture_data.train_x), model, reference)
    untrained = registry.build_model(registry.family("gan"), tiny_config("gan", texture_data)).eval()
    noise = frechet.sample_quality(untrained, model, reference)
    assert real.samples == noise.samples == 256
    assert sum(noise.class_shares) == pytest.approx(1.0)
    assert real.frechet < 3 * reference.floor + 1e-3 < noise.frechet
    assert real.effective_classes > 3.5  # the four textures, evenly
    assert 1 <= noise.effective_classes
