"""Shared fixtures: tiny datasets and configs so the whole suite runs in minutes on 2 CPU cores."""

import os

import pytest
import torch

# Tests never reach the network: a dataset that is not on disk fails at once instead of downloading.
os.environ["GENLAB_OFFLINE"] = "1"

from genmodels import data, registry  # noqa: E402


@pytest.fixture(scope="session")
def sprites_small():
    return data.sprites(seed=3, n_train=512, n_test=128)


@pytest.fixture(scope="session")
def ring_small():
    return data.toy("toy-ring", n_train=512, n_test=128)


def tiny_config(family: str, dataset):
    """The family's default config for ``dataset``, shrunk so a step takes milliseconds."""
    spec = registry.family(family)
    if family in ("gan", "dcgan"):
        overrides = {"latent_dim": 8, "hidden": 16}
    elif spec.config_class.__name__ == "AutoencoderConfig":
        arch = spec.default_config(dataset).arch
        overrides = {"latent_dim": 8, "hidden": (8, 16) if arch == "conv" else (32,)}
    else:
        overrides = {"latent_dim": 4, "hidden": (32,)}
    return registry.model_config(spec, dataset, **overrides)


@pytest.fixture
def cpu_generator():
    return torch.Generator().manual_seed(0)
