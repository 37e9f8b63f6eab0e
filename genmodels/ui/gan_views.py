"""What the two GAN lessons draw: the 2-D lab's canvas, numbers and diagnosis, and the GAN
studio's generator tabs, timeline and findings, with the explanations both show."""

from __future__ import annotations

import inspect

import plotly.graph_objects as go
import streamlit as st

from genmodels import losses
from genmodels.configs import LEARNING_RATES
from genmodels.data import DATASETS, is_available
from genmodels.errors import CheckpointError
from genmodels.i18n import _
from genmodels.images import grid, rows_grid, strip
from genmodels.lessons import gan_diagnosis, latent
from genmodels.lessons import gan_lab_settings as lab_settings
from genmodels.lessons.gan_diagnosis import Quality
from genmodels.lessons.gan_lab import GANLab
from genmodels.lessons.gan_lab_settings import SETTINGS
from genmodels.metrics.frechet import classifier_path
from genmodels.models.gan import GAN_LOSSES
from genmodels.training.steps import discriminator_step, gan_step, generator_step
from genmodels.ui.cache import model_key, real_image_scales, sample_quality
from genmodels.ui.render import dataset_missing, gan_lab_canvas, gan_lab_curves
from genmodels.ui.state import CHECKPOINT_DIR, ModelChoice, shared_dataset

TIMELINE = "gan_timeline"  # the timeline slider's value (1-based)
TIMELINE_COUNT = "gan_timeline_count"  # the snapshots there were when the slider was last drawn
TIMELINE_RUN = "gan_timeline_run"  # the id of the run the timeline shows


# --------------------------------------------------------------------------------------------
# 2-D GAN lab
# --------------------------------------------------------------------------------------------

def choice(lab: GANLab, column, name: str, options, **kwargs):
    """A selectbox for setting ``name``, starting on the model's current value."""
    current = getattr(lab.config, name)
    return column.selectbox(SETTINGS[name][0], options, index=list(options).index(current), key=f"gl_{name}",
                            **kwargs)


def number(lab: GANLab, column, name: str, low: int, high: int, **kwargs):
    """A number input for setting ``name``, starting on the model's current value."""
    return column.number_input(SETTINGS[name][0], low, high, getattr(lab.config, name), key=f"gl_{name}",
                               **kwargs)


def lab_settings_form(lab: GANLab) -> bool:
    """The lab's settings in a form that shows the running model's config; True when Apply was pressed."""
    with st.expander("Settings: data, networks, learning rates"), st.form("gl_settings", border=False):
        data_column, net_column, rate_column = st.columns(3)
        choice(lab, data_column, "dataset", lab_settings.TOY_DATASETS,
               format_func=lambda name: f"{name}: {DATASETS[name].description}")
        choice(lab, data_column, "loss", GAN_LOSSES, format_func=lambda name: name.replace("_", "-"),
               help="non-saturating: the original GAN with G maximising log D(G(z)); least-squares: LSGAN (Mao et al. "
                    "2017), squared distances to the targets 1 (real) and 0 (fake)")
        number(lab, data_column, "latent_dim", *lab_settings.LATENT_RANGE,
               help="z ~ N(0, I) of this many dimensions is G's input")
        number(lab, data_column, "seed", *lab_settings.SEED_RANGE,
               help="the same seed and settings give the same run, step for step")
        number(lab, net_column, "g_hidden", *lab_settings.WIDTH_RANGE, step=8, help="units per hidden layer")
        number(lab, net_column, "g_depth", *lab_settings.DEPTH_RANGE, help="hidden layers")
        number(lab, net_column, "d_hidden", *lab_settings.WIDTH_RANGE, step=8, help="units per hidden layer")
        number(lab, net_column, "d_depth", *lab_settings.DEPTH_RANGE, help="hidden layers")
        rate = {"format_func": lambda v: f"{v:g}", "help": "a log ladder: 1, 2, 5 per decade"}
        choice(lab, rate_column, "lr_g", LEARNING_RATES, **rate)
        choice(lab, rate_column, "lr_d", LEARNING_RATES, **rate)
        number(lab, rate_column, "d_steps", *lab_settings.D_STEPS_RANGE)
        choice(lab, rate_column, "batch_size", lab_settings.BATCH_SIZES)
        st.caption("Learning rates and D steps change the running model; any other change starts a new one.")
        return st.form_submit_button("Apply", type="primary")


def draw_lab(lab: GANLab, layers: list[str]) -> None:
    """The canvas, the curves, the coverage numbers and the diagnosis of the 2-D GAN lab."""
    canvas = lab.canvas()
    quality = lab.quality()
    canvas_column, curves_column = st.columns([11, 9])
    with canvas_column:
        st.plotly_chart(gan_lab_canvas(canvas, layers), key="gl_canvas")
        st.caption(f"Step {canvas.step:,} ({lab.d_updates:,} D updates, {lab.g_updates:,} G updates). Background: "
                   f"{canvas.surface_meaning}. Noise grid: {canvas.noise_plane}. Arrows: where G's loss pushes "
                   "each of 150 fakes (lengths scaled for display).")
    with curves_column:
        if lab.history:
            modes = None if lab.dataset.modes is None else len(lab.dataset.modes)
            st.plotly_chart(gan_lab_curves(lab.history, modes), key="gl_curves")
            if lab.config.loss == "least_squares":
                st.caption("With the least-squares loss D's output is not a probability: the curves show "
                           "sigmoid(output), as the trainer logs it, so a draw sits at about 0.62 there. The "
                           "numbers below and the background use D's output itself (0.5 at a draw).")
            if lab.history_stride > 1:
                st.caption(f"Each point of the curves averages {lab.history_stride} steps (thin: raw, thick: "
                           "smoothed).")
        else:
            st.info("No steps yet: press **Run**, or take one step at a time.")

    show_lab_quality(lab, quality)


def show_lab_quality(lab: GANLab, quality: Quality) -> None:
    """The coverage numbers and, in plain words, what the recent steps look like."""
    columns = st.columns(5)
    if quality.modes is not None:
        modes = quality.modes
        columns[0].metric("Modes covered", f"{modes.modes_covered} / {modes.modes}",
                          help=f"a mode counts when at least {modes.min_points} of the {modes.points:,} generated "
                               f"points lie within {modes.radius:g} of its centre (3 standard deviations)")
        columns[1].metric("Off-mode points", f"{modes.off_mode_fraction:.0%}",
                          help=f"generated points farther than {modes.radius:g} from every mode: low-quality fakes")
    else:
        support = quality.support
        columns[0].metric("Data reached (recall)", f"{support.recall:.0%}",
                          help=f"real points with a generated point within {support.radius:g}; this dataset has no "
                               "separate modes to count")
        columns[1].metric("Fakes on the data (precision)", f"{support.precision:.0%}",
                          help=f"generated points within {support.radius:g} of a real point")
    verdicts = lab.recent_verdicts()
    if verdicts is not None:
        columns[2].metric("D(x), real", f"{verdicts[0]:.2f}",
                          help="D's mean verdict on real points over the last 200 steps; 1 = sure it is real")
        columns[3].metric("D(G(z)), fake", f"{verdicts[1]:.2f}",
                          help="D's mean verdict on G's points over the last 200 steps; 0.5 = D cannot tell")
    columns[4].metric("Spread of the fakes", f"{quality.spread:.0%}",
                      help="how spread out G's points are, as a share of the data's spread (standard deviations); "
                           "far below 100% means G has bunched its points together: mode collapse")
    if lab.first_full_coverage is not None:
        step, seconds = lab.first_full_coverage
        st.caption(f"All modes first covered at step {step:,}, after {seconds:.1f} s of training.")
    diagnosis = lab.diagnose(quality)
    show = {"converged": st.success, "d_wins": st.warning, "mode_collapse": st.warning, "mode_hopping": st.warning,
            "off_mode": st.info}.get(diagnosis.kind, st.info)
    show(f"**{diagnosis.title}.** {diagnosis.explanation}")


def explain_lab() -> None:
    """What the 2-D lab's pictures show, and how its game works (formulas with their code)."""
    with st.expander("What you are looking at", expanded=True):
        st.markdown(
            "- **Green points** are real data; **purple points** are G's fakes, always made from the same 1,000 noise "
            "vectors, so you see the *same* fakes move.\n"
            "- **The background** is D's verdict at every place on the plane: green where D would call a point real, "
            "purple where it would call it fake. G's points slide towards green, and D repaints the background "
            "after every step.\n"
            "- **The thin purple lines** are a flat grid of noise values after G has bent it: G can only stretch and "
            "fold the noise plane, never tear it, so to reach separate blobs it has to stretch thin bridges between "
            "them, and the points on those bridges are the off-mode fakes.\n"
            "- **The arrows** show which way G's loss pushes each fake: up D's slope towards what D calls real.\n"
            "- **Mode collapse**: G puts all its points on one or two of the blobs. Each fake looks real, so D can "
            "only push back by rejecting that blob, and G hops to another. Try the *mode collapse* preset.\n"
            "- **D winning**: D(x) near 1 and D(G(z)) near 0. With the original loss log(1 - D(G(z))) G would get "
            "almost no gradient; the non-saturating loss keeps it alive, but G still moves slowly. Try *D too "
            "strong*.\n"
            "- **The goal** is not a small loss: at the end of a good run D(x) and D(G(z)) both sit near 0.5, "
            "because D can no longer tell the two clouds apart.")

    with st.expander("How it works: the minimax game, the non-saturating loss, the two-phase step"):
        st.markdown("Goodfellow et al. (2014) set D and G a minimax game over one value function:")
        st.latex(r"\min_G \max_D \; V(D, G) = \mathbb{E}_{x \sim p_\text{data}}[\log D(x)]"
                 r" + \mathbb{E}_{z \sim \mathcal{N}(0, I)}[\log(1 - D(G(z)))]")
        st.markdown("D maximises V, which is the same as minimising a binary cross-entropy with target 1 on real "
                    "points and 0 on fakes, computed on D's logits (D = sigmoid(logit)):")
        st.latex(r"L_D = -\mathbb{E}_x[\log D(x)] - \mathbb{E}_z[\log(1 - D(G(z)))]")
        st.code(inspect.getsource(losses.discriminator_loss), language="python")
        st.markdown("Early on, D rejects G's fakes easily, D(G(z)) is near 0 and log(1 - D(G(z))) is flat there, so "
                    "G gets almost no gradient. The paper's fix, used here: G maximises log D(G(z)) instead, the "
                    "*non-saturating* loss, which has the same fixed point and a strong gradient exactly when G is "
                    "losing.")
        st.latex(r"L_G = -\mathbb{E}_z[\log D(G(z))]")
        st.code(inspect.getsource(losses.generator_loss_nonsaturating), language="python")
        st.markdown("The least-squares variant (LSGAN, Mao et al. 2017) replaces both with squared distances from D's "
                    "raw output to the targets:")
        st.latex(r"L_D = \tfrac12\mathbb{E}_x[(D(x) - 1)^2] + \tfrac12\mathbb{E}_z[D(G(z))^2], \qquad "
                 r"L_G = \tfrac12\mathbb{E}_z[(D(G(z)) - 1)^2]")
        st.markdown("One D+G step of this lab is the same function the Train page runs: D steps updates of D on real "
                    "points and *detached* fakes (so D's update cannot reach G), then one update of G through D, whose "
                    "own weights are frozen for that phase. **D only** and **G only** call one phase alone.")
        st.code(inspect.getsource(gan_step) + "\n\n" + inspect.getsource(discriminator_step) + "\n\n"
                + inspect.getsource(generator_step), language="python")


# --------------------------------------------------------------------------------------------
# GAN studio
# --------------------------------------------------------------------------------------------

def generator_tabs(choice: ModelChoice) -> None:
    """A trained generator in four tabs: samples, interpolation, the memorisation check, sample quality."""
    model, info = choice.model, choice.info
    config = model.config
    samples_tab, walk_tab, copy_tab, quality_tab = st.tabs(
        ["Samples", "Interpolation", "Is it memorising?", "Sample quality"])

    with samples_tab:
        seed_column, count_column = st.columns(2)
        seed = seed_column.number_input("Noise seed", 0, 2**31 - 1, 0, key="gan_seed")
        count = count_column.select_slider("Samples", [16, 32, 64], value=32, key="gan_count")
        st.image(grid(latent.generated(model, int(count), int(seed)), columns=16, scale=2),
                 caption=f"{count} samples from noise seed {seed}: every image is G(z) for a different z ~ N(0, I)")

    with walk_tab:
        st.write("Walk in a straight line from one noise vector to another: a generator that has learned a smooth "
                 "map changes the garment gradually, with no jumps.")
        start_column, end_column, steps_column = st.columns(3)
        seed_a = start_column.number_input("Start: noise seed", 0, 2**31 - 1, 1, key="gan_walk_a")
        seed_b = end_column.number_input("End: noise seed", 0, 2**31 - 1, 2, key="gan_walk_b")
        steps = steps_column.slider("Steps", 3, 16, 10, key="gan_walk_steps")
        z_a, z_b = (latent.noise(config.latent_dim, 1, int(s))[0] for s in (seed_a, seed_b))
        st.image(strip([latent.interpolate(model, z_a, z_b, steps)], scale=3), width="stretch",
                 caption=f"G((1 - t) z_a + t z_b) for t from 0 to 1 in {steps} steps")

    with copy_tab:
        if not is_available(info.dataset):
            dataset_missing(info.dataset, _("Without its training set there is nothing to compare the samples with."))
        else:
            st.write("A generator could score well by copying its training images. Each sample below sits above "
                     "its nearest training image (by pixel distance).")
            typical, _variety = real_image_scales(info.dataset)
            train_x = shared_dataset(info.dataset, "cpu").train_x
            queries = latent.generated(model, 8, int(seed))
            nearest = gan_diagnosis.nearest_training_images(queries, train_x)
            st.image(rows_grid([queries, train_x[nearest.indices]], scale=3), width="stretch",
                     caption="top: samples (the first 8 of the Samples tab); bottom: the nearest training image")
            distances = ", ".join(f"{d:.1f}" for d in nearest.distances.tolist())
            closest = nearest.distances.min().item()
            verdict = ("no sample is a near copy" if closest > 0.5 * typical else
                       "some samples are much closer to a training image than real images are: possible copies")
            st.markdown(f"Distances: {distances}. For scale, a real test image (never trained on) is typically "
                        f"**{typical:.1f}** from its nearest training image: {verdict}.")

    with quality_tab:
        st.write("A Frechet distance compares the *features* of generated and real images, as FID does, but with a "
                 "small classifier trained on this dataset instead of Inception. Lower is better; the floor is the "
                 "same distance between real training images and the test set, the best a generator can reach.")
        if "frechet" in info.metrics:
            st.markdown(f"Stored with the model: Frechet distance **{info.metrics['frechet']:.2f}**, floor "
                        f"**{info.metrics.get('frechet_floor', float('nan')):.2f}**.")
        measured = f"gan_measured_{model_key(choice)}"
        if not (is_available(info.dataset) and classifier_path(CHECKPOINT_DIR, info.dataset).exists()):
            st.info(f"No feature classifier ships for {info.dataset or 'this dataset'}, so there is no sample-quality "
                    "number. Make one with `python -m genmodels classifier --dataset NAME`.")
        elif st.session_state.get(measured) or st.button("Measure now, with the classes the samples fall in "
                                                         "(5,000 samples, a few seconds)", key="gan_measure"):
            st.session_state[measured] = True
            try:
                quality = sample_quality(model, model_key(choice), info.dataset)
            except CheckpointError as error:
                st.error(f"The feature classifier cannot be loaded: {error}")
                st.stop()
            left, right = st.columns([1, 2])
            left.metric("Frechet distance", f"{quality.frechet:.2f}",
                        delta=f"{quality.frechet - quality.floor:+.2f} above the floor", delta_color="inverse")
            left.metric("Floor (real vs real)", f"{quality.floor:.2f}")
            left.metric("Classes in use", f"{quality.effective_classes:.1f} of {len(quality.class_shares)}",
                        help="exp(entropy) of the classifier's verdicts on the samples: 10 when samples spread "
                             "evenly over 10 classes, 1 when they are all one class (mode collapse)")
            names = shared_dataset(info.dataset, "cpu").class_names
            bars = go.Figure(go.Bar(x=list(names), y=[100 * s for s in quality.class_shares]))
            bars.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_title="% of samples",
                               title=f"What the classifier sees in {quality.samples:,} samples")
            right.plotly_chart(bars, key="gan_class_shares")


def timeline_index(count: int, run: int) -> int:
    """The snapshot to show of run ``run``'s ``count``: the newest, unless the student has dragged the
    timeline back. A new run (started here or on the Train page) is followed from its start."""
    if st.session_state.get(TIMELINE_RUN) != run:
        st.session_state[TIMELINE_RUN] = run
        st.session_state.pop(TIMELINE_COUNT, None)
        st.session_state.pop(TIMELINE, None)
    if count == 1:
        return 0
    following = st.session_state.get(TIMELINE_COUNT) in (None, st.session_state.get(TIMELINE))
    if following or st.session_state.get(TIMELINE, 0) > count:
        st.session_state[TIMELINE] = count
    st.session_state[TIMELINE_COUNT] = count
    return st.slider("Timeline: snapshot", 1, count, key=TIMELINE,
                     help="Drag back to watch the samples form from noise; drag to the end to follow the run") - 1


def show_findings(view) -> None:
    _typical, real_variety = real_image_scales(view.dataset) if is_available(view.dataset) else (None, None)
    latest = view.snapshots[-1].images[0] if view.snapshots else None
    sample_variety = gan_diagnosis.variety(latest) if latest is not None else None
    findings = gan_diagnosis.diagnose_images(view.history, sample_variety, real_variety)
    for finding in findings:
        name = finding.name.capitalize()
        if finding.detected:
            st.warning(f"**{name}**: {finding.evidence}. {finding.advice}")
        elif finding.judged:
            st.caption(f"{name}: no ({finding.evidence}).")
        else:
            st.caption(f"{name}: {finding.evidence}.")


def explain_objective() -> None:
    """The GAN objective, the non-saturating and least-squares losses, and one step's code."""
    with st.expander("What is being optimised"):
        st.write("The original minimax game (Goodfellow et al., 2014): D maximises, G minimises")
        st.latex(r"\min_G \max_D \; \mathbb{E}_{x}[\log D(x)] + \mathbb{E}_{z}[\log(1 - D(G(z)))]")
        st.write("Early on D easily rejects G's samples, and log(1 - D(G(z))) is flat there, so G learns almost "
                 "nothing. The non-saturating loss G actually minimises has the same fixed point and strong gradients "
                 "exactly when G is losing:")
        st.latex(r"\mathcal{L}_D = -\log D(x) - \log(1 - D(G(z))), \qquad \mathcal{L}_G = -\log D(G(z))")
        st.write("Least squares (Mao et al., 2017) replaces the logs with squared distances of D's raw output to the "
                 "labels 1 (real) and 0 (fake):")
        st.latex(r"\mathcal{L}_D = \tfrac12 (D(x) - 1)^2 + \tfrac12 D(G(z))^2, \qquad "
                 r"\mathcal{L}_G = \tfrac12 (D(G(z)) - 1)^2")
        st.write("One training step, as the lab runs it: D first (on real data and on fakes *detached* from G), then G "
                 "through a frozen D.")
        for function in (discriminator_step, generator_step, losses.discriminator_loss,
                         losses.generator_loss_nonsaturating):
            st.code(inspect.getsource(function), language="python")
