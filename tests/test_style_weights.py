"""The trained networks' weights loader, on tiny files of the same format made here (never a
download): the hash check (injectable), torch.load(weights_only=True), the offline message."""

import hashlib
import pickle

import pytest
import torch

from genmodels.sources import weights
from genmodels.sources.weights import WEIGHTS, WeightsFile, WeightsUnavailable


def save_like_torchvision(tmp_path, state) -> tuple:
    """A .pth file as torch hub stores it, named NAME-<first 8 hex of its SHA-256>.pth."""
    raw = tmp_path / "raw.pth"
    torch.save(state, raw)
    prefix = hashlib.sha256(raw.read_bytes()).hexdigest()[:8]
    path = tmp_path / f"tiny-{prefix}.pth"
    raw.rename(path)
    return path, prefix


def test_a_checked_file_loads_as_a_table_of_tensors(tmp_path):
    state = {"features.0.weight": torch.randn(4, 3, 3, 3), "features.0.bias": torch.zeros(4)}
    path, prefix = save_like_torchvision(tmp_path, state)
    assert WeightsFile("tiny", f"https://example.org/{path.name}").hash_prefix == prefix
    loaded = weights.load_state_dict(path, prefix)
    assert set(loaded) == set(state) and torch.equal(loaded["features.0.weight"], state["features.0.weight"])


def test_the_hash_check_refuses_a_damaged_file_and_can_be_replaced(tmp_path):
    path, prefix = save_like_torchvision(tmp_path, {"w": torch.ones(2)})
    with pytest.raises(WeightsUnavailable, match="SHA-256"):
        weights.load_state_dict(path, "00000000")
    calls = []

    def fake_digest(file):  # the injectable check: a test stands in for hashing a 550 MB file
        calls.append(file)
        return "abcdef12" + "0" * 56

    assert weights.load_state_dict(path, "abcdef12", digest=fake_digest)["w"].sum() == 2
    assert calls == [path]


def test_a_pickle_with_code_in_it_is_refused_not_run(tmp_path):
    class Boom:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil-00000000.pth"
    path.write_bytes(pickle.dumps({"w": Boom()}))
    prefix = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    with pytest.raises(WeightsUnavailable, match="cannot be read as weights"):
        weights.load_state_dict(path, prefix)


def test_a_file_that_is_not_a_table_of_tensors_is_refused(tmp_path):
    path, prefix = save_like_torchvision(tmp_path, [torch.ones(1)])
    with pytest.raises(WeightsUnavailable, match="no table of weights"):
        weights.load_state_dict(path, prefix)


def test_offline_without_the_file_says_what_to_copy_where(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable) as raised:
        weights.download("vgg19", folder=tmp_path)
    message = str(raised.value)
    assert "python -m genmodels weights vgg19" in message and WEIGHTS["vgg19"].url in message
    with pytest.raises(WeightsUnavailable, match="not on this machine"):
        weights.trained_state_dict("squeezenet", folder=tmp_path)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_a_cached_file_is_found_and_loaded_into_the_network(tmp_path):
    """SqueezeNet's real layout with random values, saved under the name torchvision uses but with
    the hash check replaced: the network builds from it strictly."""
    from torchvision.models import squeezenet1_1

    from genmodels.models.features import squeezenet_features

    state = squeezenet1_1(weights=None).state_dict()
    torch.save(state, tmp_path / WEIGHTS["squeezenet"].filename)
    assert weights.local_file("squeezenet", tmp_path) is not None
    loaded = weights.trained_state_dict("squeezenet", tmp_path, digest=lambda _: WEIGHTS["squeezenet"].hash_prefix)
    network = squeezenet_features(loaded)
    assert torch.equal(network.body[0].weight, state["features.0.weight"])


def test_the_addresses_are_torchvisions_own():
    from torchvision.models import SqueezeNet1_1_Weights, VGG19_Weights

    assert WEIGHTS["vgg19"].url == VGG19_Weights.IMAGENET1K_V1.url
    assert WEIGHTS["squeezenet"].url == SqueezeNet1_1_Weights.IMAGENET1K_V1.url
