"""Per-model results computed once and shared (cache_resource: every session asking about the same
model gets the same read-only tensors). Models are passed with a leading underscore (not hashed);
``model_key`` identifies them instead.

``warm_lesson_caches`` fills these caches for the shipped models in a background thread when the
server starts, so the first student to open a lesson does not wait for them."""

from __future__ import annotations

import importlib
import logging
import threading
import time

import streamlit as st
import torch
from streamlit.logger import get_logger

from genmodels.data import is_available
from genmodels.i18n import L_
from genmodels.images import grid
from genmodels.lessons import latent
from genmodels.lessons.denoising import bottleneck_sizes
from genmodels.runtime import release_memory
from genmodels.ui.state import ModelChoice, shared_dataset, shipped_choices

WARM_THREAD = "genlab-warm-caches"


def model_key(choice: ModelChoice) -> str:
    """Stable for a shipped model; changes when a session model is retrained (new created_at)."""
    return f"{choice.source}:{choice.label}:{choice.info.created_at}:{id(choice.model)}"


@st.cache_resource(max_entries=16, show_spinner=L_("Encoding the test set..."))
def encoded_test_set(_model, key: str, dataset: str) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """Posterior means of the whole test split (N, D), its labels and the class names."""
    data = shared_dataset(dataset, "cpu")
    return latent.encode_means(_model, data.test_x), data.test_y, data.class_names


@st.cache_resource(max_entries=64, show_spinner=False)
def grid_picture(_model, key: str, _plane: latent.Plane, plane_key: tuple, n: int, span: float, spacing: str):
    """The n x n mosaic of decodes over the plane, as one picture."""
    return grid(latent.latent_grid(_model, _plane, n, span, spacing), columns=n, padding=1, scale=2)


@st.cache_resource(max_entries=64, show_spinner=L_("Measuring the model over noise levels (once per model)..."))
def robustness_curve(_model, key: str, dataset: str, kind: str, levels: tuple[float, ...]) -> dict[str, list[float]]:
    """Mean PSNR over ROBUSTNESS_IMAGES test images at each noise level, for the noisy input and the model."""
    from genmodels.lessons.denoising import ROBUSTNESS_IMAGES, robustness

    clean = shared_dataset(dataset, "cpu").test_x[:ROBUSTNESS_IMAGES]
    return robustness({"model": _model}, clean, kind, list(levels))


def robustness_on(choice: ModelChoice, test_x: torch.Tensor, data_name: str, kind: str) -> dict[str, list[float]]:
    """``robustness_curve`` of ``choice`` on ``test_x`` (the test split of the dataset ``data_name``):
    cached when that dataset is on the server's disk; for a session's own images (a few hundred at
    most) computed on the spot."""
    from genmodels.lessons.denoising import ROBUSTNESS_IMAGES, ROBUSTNESS_LEVELS, robustness

    if is_available(data_name):
        return robustness_curve(choice.model, model_key(choice), data_name, kind, ROBUSTNESS_LEVELS)
    return robustness({"model": choice.model}, test_x[:ROBUSTNESS_IMAGES], kind, list(ROBUSTNESS_LEVELS))


@st.cache_resource(show_spinner=False)
def familiarity_classifier(dataset: str):
    """The classifier of the familiarity check (pooled features; lessons.denoising), or None when
    none ships for ``dataset``. A broken file raises CheckpointError."""
    from genmodels.lessons.denoising import familiarity_classifier_path
    from genmodels.metrics.frechet import load_classifier
    from genmodels.ui.state import CHECKPOINT_DIR

    path = familiarity_classifier_path(CHECKPOINT_DIR, dataset)
    return load_classifier(path).model.eval() if path.exists() else None


@st.cache_resource(show_spinner=L_("Measuring how the test images look to the feature classifier (once per server)..."))
def familiarity(dataset: str):
    """How far a picture is from ``dataset``'s images in its feature classifier's space
    (lessons.denoising.Familiarity), or None when no classifier ships for ``dataset``."""
    from genmodels.lessons.denoising import FAMILIAR_TEST, FAMILIAR_TRAIN, fit_familiarity
    from genmodels.metrics.frechet import embed

    classifier = familiarity_classifier(dataset)
    if classifier is None:
        return None
    data = shared_dataset(dataset, "cpu")
    return fit_familiarity(embed(classifier, data.train_x[:FAMILIAR_TRAIN]),
                           embed(classifier, data.test_x[:FAMILIAR_TEST]))


@st.cache_resource(show_spinner=L_("Fitting PCA (once per server)..."))
def pca_basis(dataset: str):
    """PCA of the training images with every component (784 for 28x28): the top-k components of
    any k are its first k rows."""
    from genmodels.lessons.denoising import PCA

    data = shared_dataset(dataset, "cpu")
    return PCA.fit(data.train_x, data.train_x[0].numel())


@st.cache_resource(max_entries=64, show_spinner=False)
def pca_curve(dataset: str, sizes: tuple[int, ...]) -> list[float]:
    """Mean test PSNR of PCA with k components, for each k in ``sizes`` (the 2,000 test images the
    autoencoders are scored on)."""
    from genmodels.lessons.denoising import PCA
    from genmodels.metrics.image_quality import psnr

    full = pca_basis(dataset)
    test = shared_dataset(dataset, "cpu").test_x[:2000]
    return [psnr(PCA(full.mean, full.components[:k]).reconstruct(test), test).mean().item() for k in sizes]


@st.cache_resource(max_entries=32, show_spinner=False)
def reconstruction_psnr(_model, key: str, dataset: str) -> float:
    """Mean PSNR of the model's reconstructions of 2,000 clean test images."""
    from genmodels.metrics.image_quality import psnr

    test = shared_dataset(dataset, "cpu").test_x[:2000]
    return psnr(latent.reconstruct(_model, test), test).mean().item()


@st.cache_resource(max_entries=16, show_spinner=False)
def code_statistics(_model, key: str, dataset: str):
    """Activation statistics of the code layer over 2,000 test images."""
    from genmodels.lessons.codes import activation_stats

    return activation_stats(_model, shared_dataset(dataset, "cpu").test_x[:2000])


@st.cache_resource(max_entries=64, show_spinner=L_("Evaluating on the test split (once per model)..."))
def test_metrics(_model, key: str, family: str, dataset: str, seed: int) -> dict[str, float]:
    """The family's test-split metrics (registry evaluate), for models whose stored metrics lack some."""
    from genmodels.registry import family as family_spec

    device = str(next(_model.parameters()).device)
    return family_spec(family).evaluate(_model, shared_dataset(dataset, device), seed)


@st.cache_resource(show_spinner=L_("Loading the feature classifier (once per server)..."))
def feature_classifier(dataset: str):
    """The dataset's shipped feature classifier and the real-data statistics a sample-quality
    report compares against, or None when no classifier ships for ``dataset``. A broken file
    raises CheckpointError (the page says so)."""
    from genmodels.metrics import frechet
    from genmodels.metrics.frechet import classifier_path, load_classifier
    from genmodels.ui.state import CHECKPOINT_DIR

    path = classifier_path(CHECKPOINT_DIR, dataset)
    if not path.exists():
        return None
    loaded = load_classifier(path)
    return loaded, frechet.real_statistics(loaded.model, shared_dataset(dataset, "cpu"))


@st.cache_resource(max_entries=32, show_spinner=L_("Scoring 5,000 samples (once per model)..."))
def sample_quality(_model, key: str, dataset: str):
    """Frechet distance, floor and class shares of a generator's samples (frechet.sample_quality)."""
    from genmodels.metrics import frechet

    loaded, reference = feature_classifier(dataset)
    return frechet.sample_quality(_model, loaded.model, reference)


@st.cache_resource(max_entries=8, show_spinner=False)
def code_plane_holes(_model, key: str, dataset: str):
    """The holes of a 2-D model's code plane (lessons.vae_maps.holes), against 10,000 training images."""
    from genmodels.lessons import vae_maps

    codes, _labels, _names = encoded_test_set(_model, key, dataset)
    return vae_maps.holes(_model, codes, shared_dataset(dataset, "cpu").train_x[:10_000])


@st.cache_resource(show_spinner=False)
def real_image_scales(dataset: str) -> tuple[float, float]:
    """Two yardsticks from real images: the median distance from a test image to its nearest
    training image (is a sample a copy?), and the variety of 32 training images (mode collapse?)."""
    from genmodels.lessons import gan_diagnosis

    data = shared_dataset(dataset, "cpu")
    return (gan_diagnosis.typical_nearest_distance(data.train_x, data.test_x),
            gan_diagnosis.variety(data.train_x[:32]))


def warm_lesson_caches() -> list[str]:
    """Compute what the lessons' first visits need for the shipped models, in the order of the
    lessons: the optimizers' first import; the Autoencoders lesson's PCA curve, reconstruction
    scores and code statistics; the Denoising lab's robustness curves for its opening noise; the VAE
    explorer's encoded test sets (and the holes of 2-D code planes); GAN studio's real-image
    yardsticks, feature classifier and sample quality. On a cold 2-core server these took the first
    visitor of Autoencoders ~3 s, of the
    Denoising lab ~4 s and of the 2-D GAN lab ~1.2 s, and the first press of "Measure" in GAN
    studio ~10 s. A page that asks for a value while it is being computed here waits for it
    (cache_resource locks each key) instead of computing it again. Returns a line per value
    warmed: its name and seconds, or why it failed (one failure does not stop the others)."""
    from genmodels.lessons.denoising import (
        DEFAULT_COMPARISON,
        DEFAULT_NOISE,
        NOISES,
        ROBUSTNESS_LEVELS,
        familiarity_classifier_path,
    )
    from genmodels.metrics.frechet import classifier_path
    from genmodels.ui.state import CHECKPOINT_DIR

    done = []

    def warm(name: str, function, *args) -> None:
        began = time.monotonic()
        try:
            function(*args)
        except Exception as error:  # e.g. a broken classifier file: the page says so when it asks
            done.append(f"{name} failed ({type(error).__name__}: {error})")
            return
        done.append(f"{name} {time.monotonic() - began:.1f} s")

    # The first torch.optim optimizer a process builds imports torch._dynamo (about 1.2 s): the first
    # visit of the 2-D GAN lab, or the first Start on the Train page, would pay for it.
    warm("torch._dynamo (imported by the first optimizer)", importlib.import_module, "torch._dynamo")
    choices = [c for c in shipped_choices() if is_available(c.info.dataset)]
    images = [c for c in choices if c.info.model_config.channels == 1 and c.info.model_config.image_size == 28]
    for dataset in sorted({c.info.dataset for c in choices if c.info.family in ("ae", "sparse_ae")}):
        sizes = bottleneck_sizes(c.model.config.latent_dim for c in choices
                                 if c.info.family in ("ae", "sparse_ae") and c.info.dataset == dataset)
        warm(f"PCA curve on {dataset}", pca_curve, dataset, sizes)
    for c in choices:
        if c.info.family in ("ae", "sparse_ae"):
            warm(f"reconstruction PSNR of {c.name}", reconstruction_psnr, c.model, model_key(c), c.info.dataset)
        if c.info.family == "sparse_ae" and c.model.config.arch == "mlp" and not c.model.config.hidden:
            warm(f"code statistics of {c.name}", code_statistics, c.model, model_key(c), c.info.dataset)
    for c in images:  # the opening noise here; the others at the end (switching noise cost 5-7 s cold)
        if c.info.family in ("dae", "ae"):
            warm(f"robustness curve of {c.name}", robustness_curve, c.model, model_key(c), c.info.dataset,
                 DEFAULT_NOISE, ROBUSTNESS_LEVELS)
    for c in choices:
        if c.info.family == "vae" or (c.info.family == "ae" and c.model.config.latent_dim == 2):
            warm(f"encoded test set of {c.name}", encoded_test_set, c.model, model_key(c), c.info.dataset)
            if c.model.config.latent_dim == 2:  # the VAE explorer's side-by-side maps
                warm(f"code-plane holes of {c.name}", code_plane_holes, c.model, model_key(c), c.info.dataset)
    for c in choices:
        if c.info.family in ("gan", "dcgan") and c.info.model_config.data == "image":
            warm(f"real-image scales of {c.info.dataset}", real_image_scales, c.info.dataset)
            if classifier_path(CHECKPOINT_DIR, c.info.dataset).exists():
                warm(f"sample quality of {c.name}", sample_quality, c.model, model_key(c), c.info.dataset)
    # Last, what fewer visits need: the check of uploaded pictures, the other noises' robustness curves.
    for dataset in sorted({c.info.dataset for c in images if c.info.family == "dae"}):
        if familiarity_classifier_path(CHECKPOINT_DIR, dataset).exists():
            warm(f"familiarity check on {dataset}", familiarity, dataset)
    for c in images:  # the lab's opening pair only: the other autoencoders are picked far less often
        for kind in NOISES:
            if (c.info.family == "dae" or c.name == DEFAULT_COMPARISON) and kind != DEFAULT_NOISE:
                warm(f"robustness curve of {c.name} ({kind})", robustness_curve, c.model, model_key(c),
                     c.info.dataset, kind, ROBUSTNESS_LEVELS)
    return done


def start_warming() -> threading.Thread:
    """Run ``warm_lesson_caches`` in a daemon thread and log what it did. The thread has no script
    context, so the cached functions' spinners have nowhere to show; Streamlit's warning about that
    missing context is silenced for this thread alone."""
    logger = get_logger("genmodels.warm")

    def run() -> None:
        began = time.monotonic()
        done = warm_lesson_caches()
        release_memory()  # the scratch tensors of the work above, held by this thread's malloc arena
        logger.info("lessons' caches warm in %.1f s: %s", time.monotonic() - began, "; ".join(done))

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: record.threadName != WARM_THREAD)
    thread = threading.Thread(target=run, name=WARM_THREAD, daemon=True)
    thread.start()
    return thread
