"""2-D GAN lab: a generator and a discriminator play their game on a toy point cloud, step by step."""

import time

import streamlit as st

from genmodels.errors import ConfigError, TrainingDiverged
from genmodels.lessons import gan_lab_settings as lab_settings
from genmodels.lessons.gan_lab import GANLab
from genmodels.lessons.gan_lab_settings import LIVE_SETTINGS, SETTINGS, LabConfig, preset_config
from genmodels.registry import presets_for
from genmodels.ui import gan_views
from genmodels.ui.render import GAN_LAB_LAYERS
from genmodels.ui.state import run_through_the_app, shared_dataset

PRESETS = presets_for("gan_lab")

LAB = "gl_lab"  # this session's GANLab
RUNNING = "gl_running"  # True while Run is on
RUN_STARTED = "gl_run_started"  # the lab's train_seconds when Run was pressed
NOTICE = "gl_notice"  # (kind, text) for the next full run to show: why a run paused, what Apply did
LAST_FRAME = "gl_last_frame"  # time.monotonic() when the last running frame was drawn
TICK_SECONDS = 0.8  # while running, the browser asks for a frame this often...
# ...and each frame (after drawing) trains for about 60% of the time since the last one, within these bounds:
# when the browser draws slowly (a busy machine), frames come less often and each trains longer, so
# training keeps its share of the clock, and no rerun ever runs long.
TRAIN_SECONDS_PER_TICK = (0.2, 1.0)
# A run pauses by itself after this much training (two minutes or more on the clock), so a forgotten
# tab does not keep a server core busy; Run goes on from there. Training happens only while the page
# is open: leave it and the run waits.
MAX_RUN_TRAIN_SECONDS = 90
SPEEDS = (1, 5, 20, 100, 1000)  # steps per frame (capped by TRAIN_SECONDS_PER_TICK)

run_through_the_app()
st.title("2-D GAN lab")
st.write("A generator G turns random noise into points; a discriminator D learns to tell those fakes from the "
         "real points. Each gets better by beating the other. On a 2-D toy you can watch the whole game: D's "
         "verdict everywhere on the plane, where G sends its noise, and which way D's verdict pushes every fake.")


def new_lab(config: LabConfig) -> None:
    st.session_state[LAB] = GANLab(config, shared_dataset(config.dataset, "cpu"))
    st.session_state[RUNNING] = False


def apply_preset() -> None:
    """Preset picked: its settings go into the form, and a fresh model starts from them."""
    st.session_state["gl_preset_chosen"] = st.session_state["gl_preset"]  # outlives the widget's state
    config = preset_config(st.session_state["gl_preset"])
    for name in SETTINGS:
        st.session_state[f"gl_{name}"] = getattr(config, name)
    new_lab(config)
    st.session_state[NOTICE] = ("info", f"New model with the preset *{PRESETS[st.session_state['gl_preset']].title}*.")


if LAB not in st.session_state:
    new_lab(preset_config(lab_settings.DEFAULT_PRESET))
lab: GANLab = st.session_state[LAB]

# Every widget gets its default from the state it shows (the chosen preset, the model's config), so
# that wherever the browser falls back to a widget's default, the default is the truth.
chosen = st.session_state.get("gl_preset_chosen", lab_settings.DEFAULT_PRESET)
preset_column, explanation_column = st.columns([1, 2])
preset = preset_column.selectbox("Preset", list(PRESETS), index=list(PRESETS).index(chosen),
                                 format_func=lambda key: PRESETS[key].title, key="gl_preset", on_change=apply_preset)
explanation_column.markdown(f"**What to watch for:** {PRESETS[preset].note}")
if lab.config != preset_config(preset):
    explanation_column.caption("(Your settings differ from the preset's.)")

# --- settings: the form shows the running model's config; values out of range are reported ---
for name in SETTINGS:
    if f"gl_{name}" in st.session_state:
        value, problem = lab_settings.settle(name, st.session_state[f"gl_{name}"], getattr(lab.config, name))
        if problem:
            st.session_state[f"gl_{name}"] = value
            st.warning(problem)


applied = gan_views.lab_settings_form(lab)

if applied:
    try:
        config = LabConfig(**{name: st.session_state[f"gl_{name}"] for name in SETTINGS})
    except ConfigError as error:
        st.error(f"These settings cannot be used: {error}")
    else:
        changed = [name for name in SETTINGS if getattr(config, name) != getattr(lab.config, name)]
        if not changed:
            st.session_state[NOTICE] = ("info", "Nothing changed.")
        elif set(changed) <= set(LIVE_SETTINGS):
            lab.retune(**{name: getattr(config, name) for name in changed})
            st.session_state[NOTICE] = ("info", f"Changed {', '.join(SETTINGS[n][0] for n in changed)}: the model "
                                                "trains on from where it is.")
        else:
            new_lab(config)
            lab = st.session_state[LAB]
            st.session_state[NOTICE] = ("info", "New model with these settings.")


def start_run() -> None:
    st.session_state[RUNNING] = True
    st.session_state[RUN_STARTED] = st.session_state[LAB].train_seconds
    st.session_state[LAST_FRAME] = time.monotonic()


def keep_running() -> bool:
    return st.session_state.get(RUNNING, False)


def pause_run() -> None:
    st.session_state[RUNNING] = False  # a frame still training in the run this click replaced stops...
    lab = st.session_state[LAB]
    with lab.lock:  # ...at its next step: wait for that, so the step quoted is the step shown
        st.session_state[NOTICE] = ("info", f"Paused at step {lab.step:,}.")


def reset_lab() -> None:
    st.session_state[RUNNING] = False  # first, so that a frame still training stops (see pause_run)
    st.session_state[LAB].reset()
    st.session_state[NOTICE] = ("info", "Reset: a fresh model from the same settings and seed.")


# --- the controls: outside the live part, so they stay put (and clickable) while it redraws; a click
# reruns the whole page, which also starts or stops the live part's timer ---
running = st.session_state.get(RUNNING, False)
run_column, step_column, d_column, g_column, reset_column, speed_column = st.columns([1, 1, 1, 1, 1, 3])
if running:
    run_column.button("Pause", key="gl_pause", type="primary", width="stretch", on_click=pause_run)
else:
    run_column.button("Run", key="gl_run", type="primary", width="stretch", on_click=start_run)
one = step_column.button("One step", key="gl_step", disabled=running, width="stretch",
                         help="one D+G step: D steps updates of D, then one update of G")
d_only = d_column.button("D only", key="gl_step_d", disabled=running, width="stretch",
                         help="one update of the discriminator; G stays as it is")
g_only = g_column.button("G only", key="gl_step_g", disabled=running, width="stretch",
                         help="one update of the generator through the current D; D stays as it is")
reset_column.button("Reset", key="gl_reset", width="stretch", help="a fresh model from the same settings",
                    on_click=reset_lab)
speed_column.select_slider("Steps per frame", SPEEDS, value=SPEEDS[-1], key="gl_speed",
                           help=f"while running; at most {TRAIN_SECONDS_PER_TICK[1]:g} s of training per frame, "
                                f"a frame every {TICK_SECONDS:g} s or so")
st.pills("Layers", GAN_LAB_LAYERS, selection_mode="multi", default=list(GAN_LAB_LAYERS), key="gl_layers")
try:
    if one:
        lab.train(1)
    elif d_only:
        lab.step_discriminator()
    elif g_only:
        lab.step_generator()
except TrainingDiverged as error:
    st.error(str(error))


def stop_running(kind: str, text: str) -> None:
    st.session_state[RUNNING] = False
    st.session_state[NOTICE] = (kind, text)
    st.rerun()  # a full rerun, so that the live part stops its timer


@st.fragment(run_every=TICK_SECONDS if running else None)
def live() -> None:
    """The canvas, the curves and the numbers. While running, this part reruns every TICK_SECONDS or
    so: it draws the lab as it is, then trains for the next frame (see TRAIN_SECONDS_PER_TICK).
    Drawing first matters: while a run is going, Streamlit fades every element the run has not
    redrawn yet, and training first had kept the curves and numbers faded most of the time. It
    holds no widgets: widgets redrawn on every frame can miss a click."""
    lab: GANLab = st.session_state[LAB]
    running = st.session_state.get(RUNNING, False)
    if running and lab.train_seconds - st.session_state.get(RUN_STARTED, 0.0) >= MAX_RUN_TRAIN_SECONDS:
        stop_running("info", f"Paused by itself after {MAX_RUN_TRAIN_SECONDS} s of training, at step "
                             f"{lab.step:,}. Press Run to go on.")
    gan_views.draw_lab(lab, st.session_state["gl_layers"])
    if running:
        since = time.monotonic() - st.session_state.get(LAST_FRAME, 0.0)
        low, high = TRAIN_SECONDS_PER_TICK
        try:
            lab.train(st.session_state["gl_speed"], max_seconds=min(max(0.6 * since, low), high),
                      keep_going=keep_running)
        except TrainingDiverged as error:
            stop_running("error", str(error))
        st.session_state[LAST_FRAME] = time.monotonic()


# Why a run paused, what Apply did: shown by the full run after the action, so it stays until the next
# one (the live part's frames would each have to show it again).
notice = st.session_state.pop(NOTICE, None)
if notice is not None:
    getattr(st, notice[0])(notice[1])
live()

gan_views.explain_lab()
