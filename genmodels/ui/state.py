"""Per-session state under named keys, and the shared read-only caches.

Shared (``st.cache_resource``, one copy per server process, never mutated): datasets.
Per session (``st.session_state``): the session's training job and its own trained models.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
import torch

from genmodels.checkpoints import CheckpointInfo
from genmodels.data import Dataset, load_dataset
from genmodels.jobs import TrainingJob

JOB = "genlab_job"  # the session's current (or last) TrainingJob
MODELS = "genlab_models"  # name -> SessionModel, the models this session trained or uploaded


@dataclass
class SessionModel:
    model: torch.nn.Module
    info: CheckpointInfo
    job: TrainingJob | None = None  # the job that trained it, for "train more"


@st.cache_resource(show_spinner="Loading the dataset (once per server)...")
def shared_dataset(name: str, device: str) -> Dataset:
    """One copy per server process, shared by every session: read-only, training only indexes it."""
    return load_dataset(name, device)


def current_job() -> TrainingJob | None:
    return st.session_state.get(JOB)


def session_models() -> dict[str, SessionModel]:
    return st.session_state.setdefault(MODELS, {})


def reset_session() -> None:
    """Stop the session's job and forget its models, freeing their memory."""
    job = current_job()
    if job is not None:
        job.stop()
    for key in (JOB, MODELS):
        st.session_state.pop(key, None)


def collect_finished_job() -> None:
    """Once the session's job has ended with some training done, keep its model in the session
    under the job's name (so every page can use it) - exactly once per job."""
    from genmodels.checkpoints import make_info
    from genmodels.jobs import FINISHED, STOPPED

    job = current_job()
    if job is None or st.session_state.get("genlab_collected") == job.id:
        return
    view = job.view()
    if view.state not in (FINISHED, STOPPED) or view.step == 0:
        return
    metrics = view.finished.test if view.finished else {}
    info = make_info(job.spec.name, job.model, name=job.name, train_config=job.config, dataset=job.dataset.name,
                     metrics=metrics, history=view.history)
    session_models()[job.name] = SessionModel(model=job.model, info=info, job=job)
    st.session_state["genlab_collected"] = job.id
