"""2-D GAN lab: a generator and a discriminator play their game on a toy point cloud, step by step."""

import inspect
import time

import streamlit as st

from genmodels import gan_lab, losses, training
from genmodels.data import DATASETS
from genmodels.errors import ConfigError, TrainingDiverged
from genmodels.gan_lab import LIVE_SETTINGS, PRESETS, SETTINGS, GANLab, LabConfig
from genmodels.models.gan import GAN_LOSSES
from genmodels.ui.render import GAN_LAB_LAYERS, gan_lab_canvas, gan_lab_curves
from genmodels.ui.state import run_through_the_app, shared_dataset

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
    config = PRESETS[st.session_state["gl_preset"]].config
    for name in SETTINGS:
        st.session_state[f"gl_{name}"] = getattr(config, name)
    new_lab(config)
    st.session_state[NOTICE] = ("info", f"New model with the preset *{PRESETS[st.session_state['gl_preset']].title}*.")


if LAB not in st.session_state:
    new_lab(PRESETS[gan_lab.DEFAULT_PRESET].config)
lab: GANLab = st.session_state[LAB]

# Every widget gets its default from the state it shows (the chosen preset, the model's config), so
# that wherever the browser falls back to a widget's default, the default is the truth.
chosen = st.session_state.get("gl_preset_chosen", gan_lab.DEFAULT_PRESET)
preset_column, explanation_column = st.columns([1, 2])
preset = preset_column.selectbox("Preset", list(PRESETS), index=list(PRESETS).index(chosen),
                                 format_func=lambda key: PRESETS[key].title, key="gl_preset", on_change=apply_preset)
explanation_column.markdown(f"**What to watch for:** {PRESETS[preset].explanation}")
if lab.config != PRESETS[preset].config:
    explanation_column.caption("(Your settings differ from the preset's.)")

# --- settings: the form shows the running model's config; values out of range are reported ---
for name in SETTINGS:
    if f"gl_{name}" in st.session_state:
        value, problem = gan_lab.settle(name, st.session_state[f"gl_{name}"], getattr(lab.config, name))
        if problem:
            st.session_state[f"gl_{name}"] = value
            st.warning(problem)


def choice(column, name: str, options, **kwargs):
    """A selectbox for setting ``name``, starting on the model's current value."""
    current = getattr(lab.config, name)
    return column.selectbox(SETTINGS[name][0], options, index=list(options).index(current), key=f"gl_{name}",
                            **kwargs)


def number(column, name: str, low: int, high: int, **kwargs):
    """A number input for setting ``name``, starting on the model's current value."""
    return column.number_input(SETTINGS[name][0], low, high, getattr(lab.config, name), key=f"gl_{name}",
                               **kwargs)


with st.expander("Settings: data, networks, learning rates"), st.form("gl_settings", border=False):
    data_column, net_column, rate_column = st.columns(3)
    choice(data_column, "dataset", gan_lab.TOY_DATASETS,
           format_func=lambda name: f"{name}: {DATASETS[name].description}")
    choice(data_column, "loss", GAN_LOSSES, format_func=lambda name: name.replace("_", "-"),
           help="non-saturating: the original GAN with G maximising log D(G(z)); least-squares: LSGAN (Mao et al. "
                "2017), squared distances to the targets 1 (real) and 0 (fake)")
    number(data_column, "latent_dim", *gan_lab.LATENT_RANGE, help="z ~ N(0, I) of this many dimensions is G's input")
    number(data_column, "seed", *gan_lab.SEED_RANGE, help="the same seed and settings give the same run, step for step")
    number(net_column, "g_hidden", *gan_lab.WIDTH_RANGE, step=8, help="units per hidden layer")
    number(net_column, "g_depth", *gan_lab.DEPTH_RANGE, help="hidden layers")
    number(net_column, "d_hidden", *gan_lab.WIDTH_RANGE, step=8, help="units per hidden layer")
    number(net_column, "d_depth", *gan_lab.DEPTH_RANGE, help="hidden layers")
    rate = {"format_func": lambda v: f"{v:g}", "help": "a log ladder: 1, 2, 5 per decade"}
    choice(rate_column, "lr_g", gan_lab.LEARNING_RATES, **rate)
    choice(rate_column, "lr_d", gan_lab.LEARNING_RATES, **rate)
    number(rate_column, "d_steps", *gan_lab.D_STEPS_RANGE)
    choice(rate_column, "batch_size", gan_lab.BATCH_SIZES)
    st.caption("Learning rates and D steps change the running model; any other change starts a new one.")
    applied = st.form_submit_button("Apply", type="primary")

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
    draw(lab)
    if running:
        since = time.monotonic() - st.session_state.get(LAST_FRAME, 0.0)
        low, high = TRAIN_SECONDS_PER_TICK
        try:
            lab.train(st.session_state["gl_speed"], max_seconds=min(max(0.6 * since, low), high),
                      keep_going=keep_running)
        except TrainingDiverged as error:
            stop_running("error", str(error))
        st.session_state[LAST_FRAME] = time.monotonic()


def draw(lab: GANLab) -> None:
    canvas = lab.canvas()
    quality = lab.quality()
    canvas_column, curves_column = st.columns([11, 9])
    with canvas_column:
        st.plotly_chart(gan_lab_canvas(canvas, st.session_state["gl_layers"]), key="gl_canvas")
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

    show_quality(lab, quality)


def show_quality(lab: GANLab, quality: gan_lab.Quality) -> None:
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


# Why a run paused, what Apply did: shown by the full run after the action, so it stays until the next
# one (the live part's frames would each have to show it again).
notice = st.session_state.pop(NOTICE, None)
if notice is not None:
    getattr(st, notice[0])(notice[1])
live()

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
    st.code(inspect.getsource(training.gan_step) + "\n\n" + inspect.getsource(training.discriminator_step) + "\n\n"
            + inspect.getsource(training.generator_step), language="python")
