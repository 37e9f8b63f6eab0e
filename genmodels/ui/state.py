"""Per-session state under named keys, and the shared read-only caches.

Shared (``st.cache_resource``, one copy per server process, never mutated): datasets.
Per session (``st.session_state``): the session's training job and its own trained models.

A session that closes (its tab shut, its laptop asleep) is noticed by the process-wide watchdog
once Streamlit's reconnect window (``server.disconnectedSessionTTL``) has passed: its job is
stopped and its models are forgotten, so a class leaving hands the server's memory back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import streamlit as st
import torch

from genmodels.checkpoints import CheckpointInfo, LoadedCheckpoint, load_checkpoint
from genmodels.data import Dataset, load_dataset
from genmodels.errors import CheckpointError
from genmodels.i18n import L_, _
from genmodels.runtime import budget_threads_for_jobs, checkpoint_dir, release_memory
from genmodels.serving.jobs import SLOTS, TrainingJob
from genmodels.serving.watchdog import WATCHDOG

# The shipped checkpoints (runtime.checkpoint_dir: $GENLAB_CHECKPOINTS or checkpoints/ beside app.py).
CHECKPOINT_DIR = checkpoint_dir()
JOB = "genlab_job"  # the session's current (or last) TrainingJob
STYLE_JOB = "genlab_style_job"  # the session's current (or last) style transfer (serving/style_jobs.py)
LAYER_JOBS = "genlab_style_layer_jobs"  # the style page's one-layer texture syntheses: layer -> StyleJob
MODELS = "genlab_models"  # name -> SessionModel, the models this session trained or uploaded
GENERATION = "genlab_generation"  # how many times this session was reset (fresh_key)


@dataclass
class SessionModel:
    model: torch.nn.Module
    info: CheckpointInfo
    job: TrainingJob | None = None  # the job that trained it, for "train more"


@st.cache_resource(show_spinner=L_("Loading the dataset (once per server)..."))
def shared_dataset(name: str, device: str) -> Dataset:
    """One copy per server process, shared by every session: read-only, training only indexes it."""
    return load_dataset(name, device)


def run_through_the_app() -> None:
    """Called first by every page. When a fresh server's first visitor opens a page's own address
    (a shared link to /gan_lab), Streamlit starts in its older multipage mode, which runs the file
    in pages/ by itself, without app.py (no sidebar, no settings), for every visitor until app.py
    has called st.navigation once. Leave that mode and rerun: app.py runs and shows this page."""
    from streamlit import config
    from streamlit.runtime.pages_manager import PagesManager

    # Not under AppTest: it puts Streamlit back in that mode before every run, and a rerun there
    # would drop the run's widget triggers (a pressed button). (AppTest patches config.get_option.)
    if PagesManager.uses_pages_directory and not config.get_option("global.appTest"):
        PagesManager.uses_pages_directory = False
        st.rerun()


def current_job() -> TrainingJob | None:
    return st.session_state.get(JOB)


def live_refresh() -> float | None:
    """The ``run_every`` of every fragment that shows the session's job: once a second while the
    job is queued or training, else never, so an idle tab costs the server nothing (thirty tabs
    each rerunning once a second had kept a 2-core server busy). Read at each full run of the app:
    ``begin_job`` reruns the app to switch the timers on, and the sidebar reruns it once when the
    job has ended to switch them off (app.py)."""
    job = current_job()
    return 1.0 if job is not None and job.active else None


def begin_job(job: TrainingJob) -> NoReturn:
    """Make ``job`` the session's job and rerun the app, so that the fragments showing it (the
    sidebar's, drawn before the page that started the job, among them) start their timers."""
    st.session_state[JOB] = job
    st.rerun()


def poll_job():
    """What a polling fragment needs each second: keep a just-finished model, then return the
    session's job and a consistent view of it, or (None, None). (The sidebar calls it on every
    page, so this is also where the server budgets its threads, once, and where each session
    signs up with the watchdog.)"""
    budget_threads_for_jobs(SLOTS.capacity)
    watch_session()
    collect_finished_job()
    job = current_job()
    return (job, job.view()) if job is not None else (None, None)


def session_models() -> dict[str, SessionModel]:
    return st.session_state.setdefault(MODELS, {})


def reset_session() -> None:
    """Start the session over: stop its job and forget everything it holds (its models, the 2-D
    lab's model, uploads, every page's settings), freeing the memory: what the watchdog does for a
    closed tab, without waiting for the job to end."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    state = get_script_run_ctx().session_state
    generation = state[GENERATION] if GENERATION in state else 0
    forget_session(state, timeout=0)
    state[GENERATION] = generation + 1


def fresh_key(key: str) -> str:
    """A widget key that changes with each Reset session. Deleting a widget's value is not enough:
    the browser keeps showing (and sends back) what the widget held, so the Train page's family
    survived a reset; a new key is a new widget, which starts from its default."""
    generation = st.session_state.get(GENERATION, 0)
    return key if not generation else f"{key}~{generation}"


def watch_session() -> None:
    """Have the process-wide watchdog clean up after this browser session once it has been gone
    for longer than Streamlit keeps a disconnected session for reconnecting."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return
    server, session_id, state = runtime.get_instance(), ctx.session_id, ctx.session_state
    WATCHDOG.watch(session_id, alive=lambda: server.is_active_session(session_id),
                   gone=lambda: forget_session(state), grace=float(st.get_option("server.disconnectedSessionTTL")))


def forget_session(state, timeout: float = 30.0) -> None:
    """Clean up after a session that has gone: stop its job (waiting up to ``timeout`` s for it to
    end), drop everything in its state (models, uploads, pictures) and hand the memory back.
    ``state`` is the session's state object; this runs on the watchdog's thread."""
    jobs = [state[key] for key in (JOB, STYLE_JOB) if key in state]
    jobs += list(state[LAYER_JOBS].values()) if LAYER_JOBS in state else []
    for job in jobs:
        job.stop()
        job.wait(timeout)
    for key in list(state.filtered_state):
        try:
            del state[key]
        except KeyError:
            pass
    release_memory()


def collect_finished_job() -> None:
    """Once the session's job has ended with some training done, keep its model in the session
    under the job's name (so every page can use it) - exactly once per job. A "train more"
    continuation extends the kept model's history instead of replacing it."""
    from dataclasses import replace

    from genmodels.checkpoints import make_info
    from genmodels.serving.jobs import FINISHED, STOPPED

    job = current_job()
    if job is None or st.session_state.get("genlab_collected") == job.id:
        return
    view = job.view()
    if view.state not in (FINISHED, STOPPED) or view.step <= job.start_step:
        return
    history, train_config = view.history, job.config
    epochs_done = view.finished.epoch if view.finished else 0
    metrics = view.finished.test if view.finished and view.finished.test else {}
    previous = session_models().get(job.name)
    if previous is not None and previous.model is job.model:  # "train more" on the kept model
        history = previous.info.history + history
        metrics = metrics or previous.info.metrics
        if previous.info.train_config is not None:
            epochs_done += previous.info.train_config.epochs
    train_config = replace(train_config, epochs=max(1, epochs_done))
    if view.finished is not None and view.finished.reason != "completed":
        # Stopped early: record the steps actually taken, so "reproduce" retrains no further.
        train_config = replace(train_config, max_steps=view.step)
    info = make_info(job.spec.name, job.model, name=job.name, train_config=train_config, dataset=job.dataset.name,
                     metrics=metrics, history=history)
    session_models()[job.name] = SessionModel(model=job.model, info=info, job=job)
    st.session_state["genlab_collected"] = job.id


# --------------------------------------------------------------------------------------------
# Models a page can pick: the shipped checkpoints (shared, read-only) and the session's own
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelChoice:
    label: str  # the picker's key, in English whatever the language: "vae-fashion-2d (shipped)"
    source: str  # "shipped" or "session"
    model: torch.nn.Module
    info: CheckpointInfo
    name: str = ""  # the file stem (shipped) or the session's name for it
    data: Dataset | None = None  # a session model's training data (own images are on no server's disk)

    @property
    def shown(self) -> str:
        """The label in the reader's language, as plain text (widget options, legends, captions
        that are not Markdown; in Markdown, pass it through render.plain)."""
        if self.source == "shipped":
            return _("{name} (shipped)", name=self.name)
        return _("{name} (this session)", name=self.name)


@st.cache_resource(show_spinner=L_("Loading the shipped models (once per server)..."))
def shipped_models(folder: str) -> tuple[dict[str, LoadedCheckpoint], tuple[str, ...]]:
    """Every checkpoint in ``folder``, loaded once per server process and shared by all sessions:
    never train or modify these in place. Returns the models by file stem, and a message for each
    file that failed to load (a broken file must not take the other models down)."""
    models, problems = {}, []
    for path in sorted(Path(folder).glob("*.safetensors")):
        try:
            models[path.stem] = load_checkpoint(path)
        except CheckpointError as error:
            problems.append(str(error))
    return models, tuple(problems)


def is_training(kept: SessionModel) -> bool:
    return kept.job is not None and kept.job.active


def shipped_choices() -> list[ModelChoice]:
    """The shipped checkpoints as choices (the same shared model objects for every session)."""
    shipped, _ = shipped_models(str(CHECKPOINT_DIR))
    return [ModelChoice(f"{name} (shipped)", "shipped", loaded.model, loaded.info, name)
            for name, loaded in shipped.items()]


def model_choices(families: tuple[str, ...] | None = None, include_training: bool = False) -> list[ModelChoice]:
    """Shipped models, then the session's, optionally only of ``families``. A session model that a
    job is training right now ("train more") is left out unless ``include_training``: reading it
    from a page while another thread updates it would show half-updated weights."""
    choices = shipped_choices()
    choices += [ModelChoice(f"{name} (this session)", "session", kept.model, kept.info, name,
                            kept.job.dataset if kept.job is not None else None)
                for name, kept in session_models().items() if include_training or not is_training(kept)]
    return [c for c in choices if families is None or c.info.family in families]


def test_split(choice: ModelChoice) -> torch.Tensor | None:
    """The test images of the data ``choice`` was trained on, on the CPU: a dataset on this server's
    disk, else the held-out part of the session's own upload it was trained on, else None."""
    from genmodels.data import is_available

    if is_available(choice.info.dataset):
        return shared_dataset(choice.info.dataset, "cpu").test_x
    if choice.data is not None and choice.data.name == choice.info.dataset and len(choice.data.test_x):
        return choice.data.test_x.cpu()
    return None


def pick_model(label: str, choices: list[ModelChoice], key: str, prefer=None) -> ModelChoice:
    """A selectbox over ``choices`` that starts on the first one ``prefer(choice)`` accepts (e.g. the
    lesson's shipped model), else on the first; returns the chosen ModelChoice."""
    labels = [choice.label for choice in choices]
    shown = {choice.label: choice.shown for choice in choices}
    default = next((i for i, choice in enumerate(choices) if prefer is not None and prefer(choice)), 0)
    # The options are the English labels (keys that survive a change of language), shown translated.
    return choices[labels.index(st.selectbox(label, labels, index=default, key=key, format_func=shown.get))]
