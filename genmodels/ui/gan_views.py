"""What the GAN studio draws: a trained generator's tabs (samples, interpolation, the memorisation
check, sample quality), a run's timeline of snapshots and its findings, and the objective."""

from __future__ import annotations

import inspect

import plotly.graph_objects as go
import streamlit as st

from genmodels import losses
from genmodels.data import is_available
from genmodels.errors import CheckpointError
from genmodels.i18n import N_, _
from genmodels.images import grid, rows_grid, strip
from genmodels.lessons import gan_diagnosis, latent
from genmodels.metrics.frechet import classifier_path
from genmodels.training.steps import discriminator_step, generator_step
from genmodels.ui.cache import model_key, real_image_scales, sample_quality
from genmodels.ui.render import dataset_missing
from genmodels.ui.state import CHECKPOINT_DIR, ModelChoice, shared_dataset

TIMELINE = "gan_timeline"  # the timeline slider's widget state (1-based)
TIMELINE_PICK = "gan_timeline_pick"  # the snapshot the student moved the timeline to; None: follow the newest
TIMELINE_COUNT = "gan_timeline_count"  # the snapshots there were when the slider was last drawn
TIMELINE_RUN = "gan_timeline_run"  # the id of the run the timeline shows
# The two GAN losses (models.gan.GAN_LOSSES) as both GAN lessons name them (translated where shown).
LOSS_NAMES = {"non_saturating": N_("non-saturating"), "least_squares": N_("least-squares")}


# --------------------------------------------------------------------------------------------
# GAN studio
# --------------------------------------------------------------------------------------------

def generator_tabs(choice: ModelChoice) -> None:
    """A trained generator in four tabs: samples, interpolation, the memorisation check, sample quality."""
    model, info = choice.model, choice.info
    config = model.config
    samples_tab, walk_tab, copy_tab, quality_tab = st.tabs(
        [_("Samples"), _("Interpolation"), _("Is it memorising?"), _("Sample quality")])

    with samples_tab:
        seed_column, count_column = st.columns(2)
        seed = seed_column.number_input(_("Noise seed"), 0, 2**31 - 1, 0, key="gan_seed")
        count = count_column.select_slider(_("Samples"), [16, 32, 64], value=32, key="gan_count")
        st.image(grid(latent.generated(model, int(count), int(seed)), columns=16, scale=2),
                 caption=_("{count} samples from noise seed {seed}: every image is G(z) for a different z ~ N(0, I)",
                           count=count, seed=seed))

    with walk_tab:
        st.write(_("Walk in a straight line from one noise vector to another: a generator that has learned a smooth "
                   "map changes the garment gradually, with no jumps."))
        start_column, end_column, steps_column = st.columns(3)
        seed_a = start_column.number_input(_("Start: noise seed"), 0, 2**31 - 1, 1, key="gan_walk_a")
        seed_b = end_column.number_input(_("End: noise seed"), 0, 2**31 - 1, 2, key="gan_walk_b")
        steps = steps_column.slider(_("Steps"), 3, 16, 10, key="gan_walk_steps")
        z_a, z_b = (latent.noise(config.latent_dim, 1, int(s))[0] for s in (seed_a, seed_b))
        st.image(strip([latent.interpolate(model, z_a, z_b, steps)], scale=3), width="stretch",
                 caption=_("G((1 - t) z_a + t z_b) for t from 0 to 1 in {steps} steps", steps=steps))

    with copy_tab:
        if not is_available(info.dataset):
            dataset_missing(info.dataset, _("Without its training set there is nothing to compare the samples with."))
        else:
            st.write(_("A generator could score well by copying its training images. Each sample below sits above "
                       "its nearest training image (by pixel distance)."))
            typical, _variety = real_image_scales(info.dataset)
            train_x = shared_dataset(info.dataset, "cpu").train_x
            queries = latent.generated(model, 8, int(seed))
            nearest = gan_diagnosis.nearest_training_images(queries, train_x)
            st.image(rows_grid([queries, train_x[nearest.indices]], scale=3), width="stretch",
                     caption=_("top: samples (the first 8 of the Samples tab); bottom: the nearest training image"))
            distances = ", ".join(f"{d:.1f}" for d in nearest.distances.tolist())
            closest = nearest.distances.min().item()
            verdict = (_("no sample is a near copy") if closest > 0.5 * typical else
                       _("some samples are much closer to a training image than real images are: possible copies"))
            st.markdown(_("Distances: {distances}. For scale, a real test image (never trained on) is typically "
                          "**{typical}** from its nearest training image: {verdict}.", distances=distances,
                          typical=f"{typical:.1f}", verdict=verdict))

    with quality_tab:
        st.write(_("A Frechet distance compares the *features* of generated and real images, as FID does, but with "
                   "a small classifier trained on this dataset instead of Inception. Lower is better; the floor is "
                   "the same distance between real training images and the test set, the best a generator can "
                   "reach."))
        if "frechet" in info.metrics:
            st.markdown(_("Stored with the model: Frechet distance **{frechet}**, floor **{floor}**.",
                          frechet=f'{info.metrics["frechet"]:.2f}',
                          floor=f'{info.metrics.get("frechet_floor", float("nan")):.2f}'))
        measured = f"gan_measured_{model_key(choice)}"
        if not (is_available(info.dataset) and classifier_path(CHECKPOINT_DIR, info.dataset).exists()):
            st.info(_("No feature classifier ships for {dataset}, so there is no sample-quality number. Make one "
                      "with `python -m genmodels classifier --dataset NAME`.",
                      dataset=info.dataset or _("this dataset")))
        elif st.session_state.get(measured) or st.button(_("Measure now, with the classes the samples fall in "
                                                           "(5,000 samples, a few seconds)"), key="gan_measure"):
            st.session_state[measured] = True
            try:
                quality = sample_quality(model, model_key(choice), info.dataset)
            except CheckpointError as error:
                st.error(_("The feature classifier cannot be loaded: {error}", error=error))
                st.stop()
            left, right = st.columns([1, 2])
            left.metric(_("Frechet distance"), f"{quality.frechet:.2f}",
                        delta=_("{gap} above the floor", gap=f"{quality.frechet - quality.floor:+.2f}"),
                        delta_color="inverse")
            left.metric(_("Floor (real vs real)"), f"{quality.floor:.2f}")
            left.metric(_("Classes in use"), _("{used} of {classes}", used=f"{quality.effective_classes:.1f}",
                                               classes=len(quality.class_shares)),
                        help=_("exp(entropy) of the classifier's verdicts on the samples: 10 when samples spread "
                               "evenly over 10 classes, 1 when they are all one class (mode collapse)"))
            names = shared_dataset(info.dataset, "cpu").class_names
            bars = go.Figure(go.Bar(x=[str(name) for name in names], y=[100 * s for s in quality.class_shares],
                                    hovertemplate="%{x}: %{y:.1f}%<extra></extra>"))
            bars.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_title=_("% of samples"),
                               title=_("What the classifier sees in {samples} samples", samples=f"{quality.samples:,}"))
            right.plotly_chart(bars, key="gan_class_shares")


def follow_or_keep(count: int) -> None:
    """The timeline moved by the student: keep that snapshot, or follow the newest again when it is
    moved to the end."""
    value = st.session_state[TIMELINE]
    st.session_state[TIMELINE_PICK] = None if value >= st.session_state.get(TIMELINE_COUNT, count) else value


def timeline_index(count: int, run: int) -> int:
    """The snapshot to show of run ``run``'s ``count``: the newest, unless the student has moved the
    timeline back. A new run (started here or on the Train page) is followed from its start.

    What the student chose lives under TIMELINE_PICK, not only in the slider's own state: Streamlit
    forgets a widget's state when a run does not draw it (the student opened another page), and the
    slider then came back at its first snapshot and stayed there (issue 17, finding 6)."""
    if st.session_state.get(TIMELINE_RUN) != run:
        st.session_state[TIMELINE_RUN] = run
        st.session_state[TIMELINE_PICK] = None
    if count == 1:
        return 0
    pick = st.session_state.get(TIMELINE_PICK)
    st.session_state[TIMELINE] = pick if pick is not None and pick < count else count
    st.session_state[TIMELINE_COUNT] = count
    return st.slider(_("Timeline: snapshot"), 1, count, key=TIMELINE, on_change=follow_or_keep, args=(count,),
                     help=_("Drag back to watch the samples form from noise; drag to the end to follow the run")) - 1


def show_findings(view) -> None:
    _typical, real_variety = real_image_scales(view.dataset) if is_available(view.dataset) else (None, None)
    latest = view.snapshots[-1].images[0] if view.snapshots else None
    sample_variety = gan_diagnosis.variety(latest) if latest is not None else None
    findings = gan_diagnosis.diagnose_images(view.history, sample_variety, real_variety)
    for finding in findings:
        name = _(finding.name).capitalize()
        if finding.detected:
            st.warning(_("**{name}**: {evidence}. {advice}", name=name, evidence=finding.evidence,
                         advice=finding.advice))
        elif finding.judged:
            st.caption(_("{name}: no ({evidence}).", name=name, evidence=finding.evidence))
        else:
            st.caption(_("{name}: {evidence}.", name=name, evidence=finding.evidence))


def explain_objective() -> None:
    """The GAN objective, the non-saturating and least-squares losses, and one step's code."""
    with st.expander(_("What is being optimised")):
        st.write(_("The original minimax game (Goodfellow et al., 2014): D maximises, G minimises"))
        st.latex(r"\min_G \max_D \; \mathbb{E}_{x}[\log D(x)] + \mathbb{E}_{z}[\log(1 - D(G(z)))]")
        st.write(_("Early on D easily rejects G's samples, and log(1 - D(G(z))) is flat there, so G learns almost "
                   "nothing. The non-saturating loss G actually minimises has the same fixed point and strong "
                   "gradients exactly when G is losing:"))
        st.latex(r"\mathcal{L}_D = -\log D(x) - \log(1 - D(G(z))), \qquad \mathcal{L}_G = -\log D(G(z))")
        st.write(_("Least squares (Mao et al., 2017) replaces the logs with squared distances of D's raw output to "
                   "the labels 1 (real) and 0 (fake):"))
        st.latex(r"\mathcal{L}_D = \tfrac12 (D(x) - 1)^2 + \tfrac12 D(G(z))^2, \qquad "
                 r"\mathcal{L}_G = \tfrac12 (D(G(z)) - 1)^2")
        st.write(_("One training step, as the lab runs it: D first (on real data and on fakes *detached* from G), "
                   "then G through a frozen D."))
        for function in (discriminator_step, generator_step, losses.discriminator_loss,
                         losses.generator_loss_nonsaturating):
            st.code(inspect.getsource(function), language="python")
