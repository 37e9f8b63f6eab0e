"""GAN studio: the shipped DCGAN's samples at once, a GAN trained live beside its curves, and what
the curves and samples say (memorising? discriminator winning? mode collapse? oscillation?)."""

import inspect

import plotly.graph_objects as go
import streamlit as st

from genmodels import gan_report, latent, losses, training
from genmodels.data import is_available
from genmodels.errors import CheckpointError, GenLabError
from genmodels.frechet import classifier_path
from genmodels.i18n import _
from genmodels.images import grid, rows_grid, strip
from genmodels.jobs import start_job
from genmodels.presets import GAN_STUDIO_PRESETS
from genmodels.training import TrainConfig, resolve_device
from genmodels.ui.cache import model_key, real_image_scales, sample_quality
from genmodels.ui.render import dataset_missing, fold_rows, job_status_line, loss_figure
from genmodels.ui.state import (
    CHECKPOINT_DIR,
    begin_job,
    current_job,
    live_refresh,
    model_choices,
    pick_model,
    poll_job,
    run_through_the_app,
    shared_dataset,
)

LEARNING_RATES = [1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2]
WIDTHS = [4, 8, 16, 32, 64, 128, 256, 512]
TIMELINE = "gan_timeline"  # the timeline slider's value (1-based)
TIMELINE_COUNT = "gan_timeline_count"  # the snapshots there were when the slider was last drawn
TIMELINE_RUN = "gan_timeline_run"  # the id of the run the timeline shows

run_through_the_app()
st.title("GAN studio")
st.write("A generator G turns random noise into images; a discriminator D scores images as real or fake. "
         "They train in turns, each against the other. Look at what the shipped DCGAN draws, then train your "
         "own and watch samples form from noise beside the two players' curves.")

# --------------------------------------------------------------------------------------------
# A trained generator: samples, interpolation, memorisation check, sample quality
# --------------------------------------------------------------------------------------------
choices = [c for c in model_choices(("gan", "dcgan")) if c.info.model_config.data == "image"]
if not choices:
    st.info("No image GAN is available yet: train one below, it appears here when it finishes.")
else:
    choice = pick_model("Generator", choices, "gan_model", prefer=lambda c: c.name == "dcgan-fashion")
    model, info = choice.model, choice.info
    config = model.config
    st.caption(f"{info.name}: {'DCGAN' if config.arch == 'conv' else 'MLP GAN'} with {config.latent_dim}-D noise, "
               f"trained on {info.dataset or 'unknown data'}")
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
            nearest = gan_report.nearest_training_images(queries, train_x)
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

# --------------------------------------------------------------------------------------------
# Train a GAN live
# --------------------------------------------------------------------------------------------
st.header("Train a GAN and watch it learn")
preset_name = st.selectbox("Start from", list(GAN_STUDIO_PRESETS), key="gan_preset",
                           help="The failures are on purpose: run one and see what the diagnostics below say.")
preset = GAN_STUDIO_PRESETS[preset_name]
st.caption(preset.note)
preset_key = list(GAN_STUDIO_PRESETS).index(preset_name)


def key(name: str) -> str:
    """Widget keys per preset, so choosing a preset loads its settings (and keeps edits per preset)."""
    return f"gan_{name}_{preset_key}"


def preset_width(player: str) -> int:
    return preset.model.get(f"{player}_hidden", preset.model.get("hidden", 256))


with st.form("gan_form"):
    left, middle, right = st.columns(3)
    with left:
        lr_g = st.select_slider("G learning rate", LEARNING_RATES, value=preset.train.lr, key=key("lr_g"),
                                format_func=lambda v: f"{v:g}")
        lr_d = st.select_slider("D learning rate", LEARNING_RATES, value=preset.train.lr_discriminator or
                                preset.train.lr, key=key("lr_d"), format_func=lambda v: f"{v:g}")
        d_steps = st.number_input("D steps per G step", 1, 10, preset.model.get("d_steps", 1), key=key("d_steps"))
    with middle:
        g_width = st.select_slider("G width", WIDTHS, value=preset_width("g"), key=key("g_width"),
                                   help="DCGAN: G's base channel count; MLP: units per hidden layer")
        d_width = st.select_slider("D width", WIDTHS, value=preset_width("d"), key=key("d_width"))
        loss = st.radio("Loss", ["non_saturating", "least_squares"], key=key("loss"), horizontal=True,
                        format_func=lambda v: v.replace("_", "-"))
    with right:
        epochs = st.number_input("Epochs", 1, 20, preset.train.epochs, key=key("epochs"))
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key=key("seed"))
        name = st.text_input("Name for the trained model", f"my-{preset.family}", max_chars=40, key=key("name"))
    started = st.form_submit_button("Start training", type="primary")

if started:
    job = current_job()
    if job is not None and job.active:
        st.warning("This session is already training. Stop that run first (sidebar), then start again.")
    else:
        try:
            device = str(resolve_device("auto"))
            config = TrainConfig(epochs=int(epochs), batch_size=preset.train.batch_size, lr=float(lr_g),
                                 lr_discriminator=float(lr_d), seed=int(seed), log_every=preset.train.log_every,
                                 snapshot_every=preset.train.snapshot_every,
                                 snapshot_count=preset.train.snapshot_count)
            overrides = {**preset.model, "g_hidden": int(g_width), "d_hidden": int(d_width), "d_steps": int(d_steps),
                         "loss": loss}
            overrides.pop("hidden", None)
            job = start_job(preset.family, shared_dataset(preset.dataset, device), config,
                            name=name.strip() or preset.family, **overrides)
            begin_job(job)
        except GenLabError as error:
            st.error(f"Could not start: {error}")


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
    findings = gan_report.diagnose(view.history, gan_report.variety(latest) if latest is not None else None,
                                   real_variety)
    for finding in findings:
        name = finding.name.capitalize()
        if finding.detected:
            st.warning(f"**{name}**: {finding.evidence}. {finding.advice}")
        elif finding.judged:
            st.caption(f"{name}: no ({finding.evidence}).")
        else:
            st.caption(f"{name}: {finding.evidence}.")


@st.fragment(run_every=live_refresh())
def live_run() -> None:
    job, view = poll_job()
    if job is None or view.family not in ("gan", "dcgan") or job.dataset.kind != "image":
        st.info("No GAN run in this session yet: choose a preset and press **Start training**." if job is None else
                f"This session's run ({view.name}, a {view.family}) is not an image GAN; it shows on the Train page.")
        return
    st.markdown(job_status_line(view))
    st.progress(view.progress)
    if view.state == "failed":
        st.error(view.message)
    curves, pictures = st.columns([3, 2])
    with curves:
        if view.history:
            st.plotly_chart(loss_figure(view, only=("d_loss", "g_loss"), y_title="loss"), key="gan_losses")
            st.plotly_chart(loss_figure(view, only=("d_real", "d_fake"), y_title="mean D output"),
                            key="gan_outputs")
        else:
            st.caption("The curves appear after the first steps.")
    with pictures:
        if view.snapshots:
            shot = view.snapshots[timeline_index(len(view.snapshots), job.id)]
            st.image(rows_grid(fold_rows(shot.images), scale=3), width="stretch",
                     caption=f"samples from the same fixed noise, step {shot.step}")
        else:
            st.caption("The first samples appear after a few steps.")
        show_findings(view)
    if view.active and st.button("Stop", key="gan_stop"):
        job.stop()


live_run()

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
    for function in (training.discriminator_step, training.generator_step, losses.discriminator_loss,
                     losses.generator_loss_nonsaturating):
        st.code(inspect.getsource(function), language="python")
