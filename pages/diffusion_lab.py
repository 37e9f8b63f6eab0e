"""Diffusion lab: diffusion (DDPM, DDIM) and flow matching, first on a 2-D toy trained live, then on images."""

import streamlit as st

from genmodels import diffusion
from genmodels.configs import LEARNING_RATES
from genmodels.errors import ConfigError, TrainingDiverged
from genmodels.i18n import _
from genmodels.lessons.diffusion_lab import DEPTHS, WIDTHS, DiffusionLab, DiffusionLabConfig
from genmodels.lessons.gan_lab_settings import BATCH_SIZES, TOY_DATASETS
from genmodels.ui import diffusion_views as views
from genmodels.ui.state import run_through_the_app, shared_dataset

LAB = "dl_lab"  # this session's DiffusionLab
RUNNING = "dl_running"
RUN_STARTED = "dl_run_started"  # the lab's train_seconds when Run was pressed
NOTICE = "dl_notice"  # (kind, text) for the next full run to show
TICK_SECONDS = 0.8  # while running, a frame about this often, each training for at most a second
TRAIN_SECONDS_PER_TICK = 0.6
MAX_RUN_TRAIN_SECONDS = 90  # a run pauses itself after this much training (a forgotten tab)
STEP_CHOICES = (1, 2, 5, 10, 25, 50, 100, 250, 1000)

run_through_the_app()
st.title(_("Diffusion lab"))
st.write(_("A diffusion model learns to undo noise. Training adds noise to real data and asks a network to say "
           "what was added (diffusion) or which way the noisy point is moving (flow matching). Sampling starts "
           "from pure noise and applies the network again and again until data appears. Watch it on a 2-D toy, "
           "then on pictures."))


def new_lab(config: DiffusionLabConfig) -> None:
    st.session_state[LAB] = DiffusionLab(config, shared_dataset(config.dataset, "cpu"))
    st.session_state[RUNNING] = False


if LAB not in st.session_state:
    new_lab(DiffusionLabConfig())
lab: DiffusionLab = st.session_state[LAB]
toy_tab, image_tab = st.tabs([_("2-D toys"), _("Images")])

with toy_tab, st.expander(_("Settings: family, data, network")), st.form("dl_settings", border=False):
    left, middle, right = st.columns(3)
    process = left.radio(_("Family"), diffusion.PROCESSES, index=diffusion.PROCESSES.index(lab.config.process),
                         format_func=lambda p: _("diffusion (DDPM)") if p == "ddpm" else _("flow matching"),
                         key="dl_process", horizontal=True)
    dataset = left.selectbox(_("Data"), TOY_DATASETS, index=TOY_DATASETS.index(lab.config.dataset), key="dl_dataset")
    width = middle.select_slider(_("Units per hidden layer"), WIDTHS, value=lab.config.width, key="dl_width")
    depth = middle.select_slider(_("Hidden layers"), DEPTHS, value=lab.config.depth, key="dl_depth")
    lr = right.select_slider(_("Learning rate"), LEARNING_RATES, value=lab.config.lr, key="dl_lr",
                             format_func=lambda v: f"{v:g}")
    batch = right.select_slider(_("Batch size"), BATCH_SIZES, value=lab.config.batch_size, key="dl_batch")
    seed = right.number_input(_("Seed"), 0, 1_000_000, lab.config.seed, key="dl_seed")
    if st.form_submit_button(_("Apply (a new model)"), type="primary"):
        try:
            new_lab(DiffusionLabConfig(dataset=dataset, process=process, width=width, depth=depth, lr=lr,
                                       batch_size=batch, seed=int(seed)))
            lab = st.session_state[LAB]
            st.session_state[NOTICE] = ("info", _("New model with these settings."))
        except ConfigError as error:
            st.error(_("These settings cannot be used: {error}", error=error))


def start_run() -> None:
    st.session_state[RUNNING] = True
    st.session_state[RUN_STARTED] = st.session_state[LAB].train_seconds


def keep_running() -> bool:
    return st.session_state.get(RUNNING, False)


def pause_run() -> None:
    st.session_state[RUNNING] = False  # a frame still training stops at its next step...
    with st.session_state[LAB].lock:  # ...wait for it, so the step quoted is the step shown
        st.session_state[NOTICE] = ("info", _("Paused at step {step}.", step=f"{st.session_state[LAB].step:,}"))


def reset_lab() -> None:
    st.session_state[RUNNING] = False
    st.session_state[LAB].reset()
    st.session_state[NOTICE] = ("info", _("Reset: a fresh model from the same settings and seed."))


def resample() -> None:
    st.session_state[LAB].set_sampling(st.session_state["dl_sampler"], st.session_state["dl_steps"])


running = st.session_state.get(RUNNING, False)
with toy_tab:
    run_column, more_column, reset_column, sampler_column, steps_column = st.columns([1, 1, 1, 2, 3])
    if running:
        run_column.button(_("Pause"), key="dl_pause", type="primary", width="stretch", on_click=pause_run)
    else:
        run_column.button(_("Run"), key="dl_run", type="primary", width="stretch", on_click=start_run)
    more = more_column.button(_("100 steps"), key="dl_more", disabled=running, width="stretch")
    reset_column.button(_("Reset"), key="dl_reset", width="stretch", on_click=reset_lab,
                        help=_("a fresh model from the same settings"))
    samplers = diffusion.SAMPLERS[lab.config.process]
    sampler_column.selectbox(_("Sampler"), samplers, index=samplers.index(lab.config.chosen_sampler),
                             format_func=lambda s: _(diffusion.SAMPLER_TITLES[s]), key="dl_sampler",
                             on_change=resample)
    steps_column.select_slider(_("Sampling steps"), STEP_CHOICES, value=lab.config.sample_steps, key="dl_steps",
                               on_change=resample)
    t = st.slider(_("Time t (0 = data, 1 = noise)"), 0.0, 1.0, 0.5, 0.01, key="dl_t",
                  help=_("where the forward process and the field are shown"))
    st.pills(_("Layers"), views.LAYERS, selection_mode="multi", default=list(views.LAYERS), format_func=_,
             key="dl_layers")
    if more:
        try:
            lab.train(100)
        except TrainingDiverged as error:
            st.error(str(error))


def stop_running(kind: str, text: str) -> None:
    st.session_state[RUNNING] = False
    st.session_state[NOTICE] = (kind, text)
    st.rerun()  # a full rerun stops the live part's timer


@st.fragment(run_every=TICK_SECONDS if running else None)
def live() -> None:
    """The canvas, the curves and the numbers; while running, draws and then trains for the next frame."""
    lab: DiffusionLab = st.session_state[LAB]
    running = st.session_state.get(RUNNING, False)
    if running and lab.train_seconds - st.session_state.get(RUN_STARTED, 0.0) >= MAX_RUN_TRAIN_SECONDS:
        stop_running("info", _("Paused by itself after {seconds} s of training, at step {step}. Press Run to go on.",
                               seconds=MAX_RUN_TRAIN_SECONDS, step=f"{lab.step:,}"))
    canvas = lab.canvas(st.session_state["dl_t"])
    quality = lab.quality(canvas.samples)
    canvas_column, curves_column = st.columns([11, 9])
    with canvas_column:
        st.vega_lite_chart(spec=views.canvas_spec(canvas, st.session_state["dl_layers"]), key="dl_canvas")
        st.caption(_("Step {step}. Arrows: {meaning} (lengths scaled for display). Samples: the same 1,000 starting "
                     "noise points every frame, {steps} steps of {sampler}.", step=f"{canvas.step:,}",
                     meaning=views.field_meaning(lab.config.process), steps=lab.config.sample_steps,
                     sampler=_(diffusion.SAMPLER_TITLES[lab.config.chosen_sampler])))
    with curves_column:
        if lab.history:
            modes = None if lab.dataset.modes is None else len(lab.dataset.modes)
            st.vega_lite_chart(spec=views.curves_spec(lab.history, modes), key="dl_curves")
        else:
            st.info(_("No steps yet: press **Run** or **100 steps**."))
    views.show_numbers(lab, quality)
    if running:
        try:
            lab.train(1000, max_seconds=TRAIN_SECONDS_PER_TICK, keep_going=keep_running)
        except TrainingDiverged as error:
            stop_running("error", str(error))


with toy_tab:
    notice = st.session_state.pop(NOTICE, None)
    if notice is not None:
        getattr(st, notice[0])(notice[1])
    live()
    if not running:  # the animation is drawn once per full run, not every frame
        st.subheader(_("Sampling, animated"))
        st.caption(_("The 40 samples whose paths the canvas draws, from noise (t = 1) to data (t = 0). Press Play."))
        st.plotly_chart(views.animation_figure(lab.canvas(st.session_state["dl_t"])), key="dl_animation")
    views.explain(lab.config.process)

with image_tab:
    views.image_lesson()
