"""The server's background warm-up computes exactly what the lessons' first visits ask for: after
``warm_lesson_caches``, opening the lessons (and measuring the shipped DCGAN's sample quality) runs
none of the computations behind the shared caches again."""

import pytest

from genmodels.lessons import codes, denoising, gan_diagnosis, latent
from genmodels.metrics import frechet
from genmodels.ui.cache import warm_lesson_caches

from .conftest import app_on

# What only the cached functions call (the pages call none of these directly).
COMPUTATIONS = [(denoising, "robustness"), (denoising, "fit_familiarity"), (denoising.PCA, "fit"),
                (codes, "activation_stats"), (latent, "encode_means"), (frechet, "real_statistics"),
                (frechet, "sample_quality"), (gan_diagnosis, "typical_nearest_distance")]


@pytest.fixture
def computations_watched(monkeypatch):
    """Names of the computations run while the test runs."""
    calls = []
    for owner, name in COMPUTATIONS:
        original = getattr(owner, name)

        def watched(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(owner, name, watched)
    return calls


def test_after_warming_the_lessons_first_visits_compute_nothing_shared(computations_watched):
    warmed = warm_lesson_caches()  # some may be warm already from other tests in this process: fine
    assert any(line.startswith("robustness curve of dae-fashion") for line in warmed)
    computations_watched.clear()

    for page in ("pages/autoencoders.py", "pages/denoising.py", "pages/vae_explorer.py"):
        app_on(page)
    studio = app_on("pages/gan_studio.py")
    studio.button(key="gan_measure").click().run()
    assert not studio.exception
    assert [m.label for m in studio.metric][:1] == ["Frechet distance"]
    assert computations_watched == []


def test_a_part_that_fails_is_reported_and_the_rest_still_warms(monkeypatch):
    from genmodels.errors import CheckpointError
    from genmodels.ui import cache

    def broken(*args):
        raise CheckpointError("fashion-mnist-classifier.safetensors is not a safetensors file")

    monkeypatch.setattr(cache, "sample_quality", broken)
    warmed = warm_lesson_caches()
    assert ("sample quality of dcgan-fashion failed (CheckpointError: fashion-mnist-classifier.safetensors is not a "
            "safetensors file)") in warmed
    assert any(line.startswith("encoded test set of vae-fashion-2d") for line in warmed)
