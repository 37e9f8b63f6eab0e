"""2-D GAN lab: a generator and a discriminator play their game on a toy point cloud, step by step."""

import streamlit as st

from genmodels.errors import ConfigError, TrainingDiverged
from genmodels.i18n import _, listing
from genmodels.lessons import gan_lab_settings as lab_settings
from genmodels.lessons.gan_lab import GANLab
from genmodels.lessons.gan_lab_runner import TICK_SECONDS, TRAIN_SECONDS_PER_FRAME, LabRunner
from genmodels.lessons.gan_lab_settings import LIVE_SETTINGS, SETTINGS, LabConfig, preset_config
from genmodels.registry import presets_for
from genmodels.ui import gan_lab_views
from genmodels.ui.gan_lab_views import GAN_LAB_LAYERS
from genmodels.ui.state import run_through_the_app, shared_dataset

PRESETS = presets_for("gan_lab")

LAB = "gl_lab"  # this session's GANLab
RUNNER = "gl_runner"  # the LabRunner that trains it in the background while Run is on
NOTICE = "gl_notice"  # (kind, text) for the next full run to show: why a run paused, what Apply did
SPEEDS = (1, 5, 20, 100, 1000)  # steps per frame (capped by TRAIN_SECONDS_PER_FRAME)

run_through_the_app()
st.title(_("2-D GAN lab"))
st.write(_("A generator G turns random noise into points; a discriminator D learns to tell those fakes from the "
           "real points. Each gets better by beating the other. On a 2-D toy you can watch the whole game: D's "
           "verdict everywhere on the plane, where G sends its noise, and which way D's verdict pushes every fake."))


def new_lab(config: LabConfig) -> None:
    """A fresh model from ``config``; the old one's run (if any) stops first."""
    if RUNNER in st.session_state:
        st.session_state[RUNNER].pause()
    st.session_state[LAB] = GANLab(config, shared_dataset(config.dataset, "cpu"))
    st.session_state[RUNNER] = LabRunner(st.session_state[LAB])


def apply_preset() -> None:
    """Preset picked: its settings go into the form, and a fresh model starts from them."""
    st.session_state["gl_preset_chosen"] = st.session_state["gl_preset"]  # outlives the widget's state
    config = preset_config(st.session_state["gl_preset"])
    for name in SETTINGS:
        st.session_state[f"gl_{name}"] = getattr(config, name)
    new_lab(config)
    st.session_state[NOTICE] = ("info", _("New model with the preset *{title}*.",
                                          title=PRESETS[st.session_state["gl_preset"]].title))


if LAB not in st.session_state:
    new_lab(preset_config(lab_settings.DEFAULT_PRESET))
lab: GANLab = st.session_state[LAB]
if st.session_state.get(RUNNER) is None or st.session_state[RUNNER].lab is not lab:  # a lab put in by a test
    st.session_state[RUNNER] = LabRunner(lab)
runner: LabRunner = st.session_state[RUNNER]

# Every widget gets its default from the state it shows (the chosen preset, the model's config), so
# that wherever the browser falls back to a widget's default, the default is the truth.
chosen = st.session_state.get("gl_preset_chosen", lab_settings.DEFAULT_PRESET)
preset_column, explanation_column = st.columns([1, 2])
preset = preset_column.selectbox(_("Preset"), list(PRESETS), index=list(PRESETS).index(chosen),
                                 format_func=lambda key: str(PRESETS[key].title), key="gl_preset",
                                 on_change=apply_preset)
explanation_column.markdown(_("**What to watch for:** {note}", note=PRESETS[preset].note))
if lab.config != preset_config(preset):
    explanation_column.caption(_("(Your settings differ from the preset's.)"))

# --- settings: the form shows the running model's config; values out of range are reported ---
for name in SETTINGS:
    if f"gl_{name}" in st.session_state:
        value, problem = lab_settings.settle(name, st.session_state[f"gl_{name}"], getattr(lab.config, name))
        if problem:
            st.session_state[f"gl_{name}"] = value
            st.warning(str(problem))

if gan_lab_views.lab_settings_form(lab):
    try:
        config = LabConfig(**{name: st.session_state[f"gl_{name}"] for name in SETTINGS})
    except ConfigError as error:
        st.error(_("These settings cannot be used: {error}", error=error))
    else:
        changed = [name for name in SETTINGS if getattr(config, name) != getattr(lab.config, name)]
        if not changed:
            st.session_state[NOTICE] = ("info", _("Nothing changed."))
        elif set(changed) <= set(LIVE_SETTINGS):
            lab.retune(**{name: getattr(config, name) for name in changed})  # also while running
            st.session_state[NOTICE] = ("info", _("Changed {settings}: the model trains on from where it is.",
                                                  settings=listing(_(SETTINGS[n][0]) for n in changed)))
        else:
            new_lab(config)
            lab, runner = st.session_state[LAB], st.session_state[RUNNER]
            st.session_state[NOTICE] = ("info", _("New model with these settings."))


def start_run() -> None:
    st.session_state[RUNNER].start(st.session_state["gl_speed"])


def pause_run() -> None:
    step = st.session_state[RUNNER].pause()  # returns once the step in progress is done
    st.session_state[NOTICE] = ("info", _("Paused at step {step}.", step=f"{step:,}"))


def reset_lab() -> None:
    st.session_state[RUNNER].pause()
    st.session_state[LAB].reset()
    st.session_state[NOTICE] = ("info", _("Reset: a fresh model from the same settings and seed."))


# --- the controls: outside the live part, so they stay put (and clickable) while it redraws; a click
# reruns the whole page, which also starts or stops the live part's timer ---
running = runner.running
run_column, step_column, d_column, g_column, reset_column, speed_column = st.columns([1, 1, 1, 1, 1, 3])
if running:
    run_column.button(_("Pause"), key="gl_pause", type="primary", width="stretch", on_click=pause_run)
else:
    run_column.button(_("Run"), key="gl_run", type="primary", width="stretch", on_click=start_run)
one = step_column.button(_("One step"), key="gl_step", disabled=running, width="stretch",
                         help=_("one D+G step: D steps updates of D, then one update of G"))
d_only = d_column.button(_("D only"), key="gl_step_d", disabled=running, width="stretch",
                         help=_("one update of the discriminator; G stays as it is"))
g_only = g_column.button(_("G only"), key="gl_step_g", disabled=running, width="stretch",
                         help=_("one update of the generator through the current D; D stays as it is"))
reset_column.button(_("Reset"), key="gl_reset", width="stretch", help=_("a fresh model from the same settings"),
                    on_click=reset_lab)
runner.speed = speed_column.select_slider(
    _("Steps per frame"), SPEEDS, value=SPEEDS[-1], key="gl_speed",
    help=_("while running; at most {seconds} s of training per frame, a frame every {tick} s or so",
           seconds=f"{TRAIN_SECONDS_PER_FRAME:g}", tick=f"{TICK_SECONDS:g}"))
st.pills(_("Layers"), GAN_LAB_LAYERS, selection_mode="multi", default=list(GAN_LAB_LAYERS), key="gl_layers",
         format_func=_)
try:
    if one:
        lab.train(1)
    elif d_only:
        lab.step_discriminator()
    elif g_only:
        lab.step_generator()
except TrainingDiverged as error:
    st.error(str(error))


@st.fragment(run_every=TICK_SECONDS if running else None)
def live() -> None:
    """The canvas, the curves and the numbers of the newest frame. While running, this part reruns
    every TICK_SECONDS and draws the frame the runner's thread finished last: it never trains and
    never waits for training, so each rerun replaces a whole picture with a whole picture. It holds
    no widgets: widgets redrawn on every frame can miss a click."""
    if running and not runner.running:  # the run paused by itself (time limit, divergence, nobody looking)
        st.rerun()  # a full rerun: the notice, the Run button, and the live part's timer off
    frame = runner.frame()
    gan_lab_views.draw_frame(frame, st.session_state["gl_layers"])
    runner.drawn(frame)  # the runner trains the next frame now, not while this one was being drawn


# Why a run paused, what Apply did: shown by the full run after the action, so it stays until the next
# one (the live part's frames would each have to show it again).
notice = st.session_state.pop(NOTICE, None) or runner.notice
runner.notice = None
if notice is not None:
    getattr(st, notice[0])(str(notice[1]))
live()

gan_lab_views.explain_lab()
