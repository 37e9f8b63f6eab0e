"""Shared fixtures: tiny datasets and configs so the whole suite runs in minutes on 2 CPU cores."""

import os

import pytest
import torch

# Tests never reach the network: a dataset that is not on disk fails at once instead of downloading.
os.environ["GENLAB_OFFLINE"] = "1"
# No background cache warming in the test process (AppTest runs app.py): it would compete with the tests
# for the cores. The e2e server turns it back on, as a real server runs.
os.environ["GENLAB_WARM_CACHES"] = "0"
# The suite reads English messages whatever the machine's locale: outside a browser session the lab
# speaks the language of LANGUAGE / LC_ALL / LANG (tests/test_i18n.py sets those itself where it tests them).
os.environ["LANGUAGE"] = "en"

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
    elif family == "classifier":
        overrides = {"width": 4}
    elif family in ("ddpm", "flow"):
        overrides = {"hidden": (8, 8) if dataset.kind == "image" else (16,), "sample_steps": 4}
    elif spec.config_class.__name__ == "AutoencoderConfig":
        arch = spec.default_config(dataset).arch
        overrides = {"latent_dim": 8, "hidden": (8, 16) if arch == "conv" else (32,)}
    else:
        overrides = {"latent_dim": 4, "hidden": (32,)}
    return registry.model_config(spec, dataset, **overrides)


@pytest.fixture
def cpu_generator():
    return torch.Generator().manual_seed(0)


def app_on(page: str, timeout: float = 180, **session):
    """The real app in Streamlit's AppTest, with ``session`` preset in its session state, switched
    to ``page`` (e.g. "pages/train.py") and checked to have rendered without an exception."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=timeout)
    for key, value in session.items():
        app.session_state[key] = value
    app.run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def garment_png(shade: int = 0, size: tuple[int, int] = (40, 40)) -> bytes:
    """A PNG like a phone photo of a garment: a dark shape of brightness ``shade`` on a white page."""
    import io

    from PIL import Image

    width, height = size
    picture = Image.new("L", size, 255)
    picture.paste(shade, (width // 4, height // 8, 3 * width // 4, 7 * height // 8))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
