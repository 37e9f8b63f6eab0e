"""Per-model results computed once and shared (cache_resource: every session asking about the same
model gets the same read-only tensors). Models are passed with a leading underscore (not hashed);
``model_key`` identifies them instead."""

from __future__ import annotations

import streamlit as st
import torch

from genmodels import latent
from genmodels.images import grid
from genmodels.ui.state import ModelChoice, shared_dataset


def model_key(choice: ModelChoice) -> str:
    """Stable for a shipped model; changes when a session model is retrained (new created_at)."""
    return f"{choice.source}:{choice.label}:{choice.info.created_at}:{id(choice.model)}"


@st.cache_resource(max_entries=16, show_spinner="Encoding the test set...")
def encoded_test_set(_model, key: str, dataset: str) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """Posterior means of the whole test split (N, D), its labels and the class names."""
    data = shared_dataset(dataset, "cpu")
    return latent.encode_means(_model, data.test_x), data.test_y, data.class_names


@st.cache_resource(max_entries=64, show_spinner=False)
def grid_picture(_model, key: str, _plane: latent.Plane, plane_key: tuple, n: int, span: float, spacing: str):
    """The n x n mosaic of decodes over the plane, as one picture."""
    return grid(latent.latent_grid(_model, _plane, n, span, spacing), columns=n, padding=1, scale=2)


@st.cache_resource(max_entries=16, show_spinner="Measuring the model over noise levels (once per model)...")
def robustness_curve(_model, key: str, dataset: str, kind: str, levels: tuple[float, ...]) -> dict[str, list[float]]:
    """Mean PSNR over 1,000 test images at each noise level, for the noisy input and the model."""
    from genmodels.denoising import robustness

    clean = shared_dataset(dataset, "cpu").test_x[:1000]
    return robustness({"model": _model}, clean, kind, list(levels))


@st.cache_resource(max_entries=16, show_spinner=False)
def typical_error(_model, key: str, dataset: str) -> float:
    """The 99th percentile of the model's clean reconstruction error on 2,000 test images: an
    upload whose error is far above it looks unlike anything the model was trained on."""
    from genmodels.denoising import reconstruction_errors

    errors = reconstruction_errors(_model, shared_dataset(dataset, "cpu").test_x[:2000])
    return float(torch.quantile(errors, 0.99))


@st.cache_resource(show_spinner="Fitting PCA baselines (once per server)...")
def pca_curve(dataset: str, sizes: tuple[int, ...]) -> list[float]:
    """Mean test PSNR of PCA with k components, for each k in ``sizes`` (2,000 test images)."""
    from genmodels.denoising import PCA
    from genmodels.metrics import psnr

    data = shared_dataset(dataset, "cpu")
    full = PCA.fit(data.train_x, max(sizes))  # the top-k components are the first k of the top-max
    test = data.test_x[:2000]
    return [psnr(PCA(full.mean, full.components[:k]).reconstruct(test), test).mean().item() for k in sizes]


@st.cache_resource(max_entries=32, show_spinner=False)
def reconstruction_psnr(_model, key: str, dataset: str) -> float:
    """Mean PSNR of the model's reconstructions of 2,000 clean test images."""
    from genmodels.metrics import psnr

    test = shared_dataset(dataset, "cpu").test_x[:2000]
    return psnr(latent.reconstruct(_model, test), test).mean().item()


@st.cache_resource(max_entries=16, show_spinner=False)
def code_statistics(_model, key: str, dataset: str):
    """Activation statistics of the code layer over 2,000 test images."""
    from genmodels.codes import activation_stats

    return activation_stats(_model, shared_dataset(dataset, "cpu").test_x[:2000])


@st.cache_resource(max_entries=64, show_spinner="Evaluating on the test split (once per model)...")
def test_metrics(_model, key: str, family: str, dataset: str, seed: int) -> dict[str, float]:
    """The family's test-split metrics (registry evaluate), for models whose stored metrics lack some."""
    from genmodels.registry import family as family_spec

    device = str(next(_model.parameters()).device)
    return family_spec(family).evaluate(_model, shared_dataset(dataset, device), seed)


@st.cache_resource(show_spinner="Loading the feature classifier (once per server)...")
def feature_classifier(dataset: str):
    """The dataset's shipped feature classifier and the real-data statistics a sample-quality
    report compares against, or None when no classifier ships for ``dataset``. A broken file
    raises CheckpointError (the page says so)."""
    from genmodels import frechet
    from genmodels.ui.state import CHECKPOINT_DIR

    path = frechet.classifier_path(CHECKPOINT_DIR, dataset)
    if not path.exists():
        return None
    loaded = frechet.load_classifier(path)
    return loaded, frechet.real_statistics(loaded.model, shared_dataset(dataset, "cpu"))


@st.cache_resource(max_entries=32, show_spinner="Scoring 5,000 samples (once per model)...")
def sample_quality(_model, key: str, dataset: str):
    """Frechet distance, floor and class shares of a generator's samples (frechet.sample_quality)."""
    from genmodels import frechet

    loaded, reference = feature_classifier(dataset)
    return frechet.sample_quality(_model, loaded.model, reference)


@st.cache_resource(show_spinner=False)
def real_image_scales(dataset: str) -> tuple[float, float]:
    """Two yardsticks from real images: the median distance from a test image to its nearest
    training image (is a sample a copy?), and the variety of 32 training images (mode collapse?)."""
    from genmodels import gan_report

    data = shared_dataset(dataset, "cpu")
    return (gan_report.typical_nearest_distance(data.train_x, data.test_x),
            gan_report.variety(data.train_x[:32]))
