"""A style transfer as a stoppable background job, in the same slots as training (jobs.py).

The thread drains ``lessons.style_transfer.transfer`` and records what it sees; a page polling
every second reads a consistent copy with ``job.view()``. It waits for a slot like a training job
(a class of thirty shares ``jobs.SLOTS``), obeys the same wall-clock cap, and stops within one
optimiser step of ``stop()``. It never calls the UI.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import torch

from genmodels import runtime
from genmodels.errors import GenLabError
from genmodels.i18n import L_, LazyText
from genmodels.lessons.style_transfer import Finished, Snapshot, Started, Step, StyleConfig, transfer
from genmodels.models.features import FeatureNetwork
from genmodels.serving import jobs
from genmodels.serving.jobs import ACTIVE_STATES, FAILED, FINISHED, QUEUED, RUNNING, STOPPED, JobSlots

_style_ids = itertools.count(1)


@dataclass(frozen=True)
class StyleView:
    """A consistent copy of a style job's progress."""

    id: int
    state: str
    message: str  # lazy: shown in the reader's language
    step: int
    total_steps: int
    steps_per_second: float  # over the last few steps
    elapsed: float
    history: list[dict[str, float]] = field(default_factory=list)  # one row per step: the losses
    snapshot: Snapshot | None = None  # the latest picture
    started: Started | None = None
    finished: Finished | None = None
    queue_position: int = 0

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if self.state != RUNNING or self.step <= 0 or not self.steps_per_second:
            return None
        return (self.total_steps - self.step) / self.steps_per_second

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


class StyleJob(jobs.BackgroundJob):
    def __init__(self, config: StyleConfig, content: torch.Tensor, style: torch.Tensor, network: FeatureNetwork, *,
                 name: str = "", slots: JobSlots | None = None):
        cap = jobs.MAX_JOB_SECONDS
        if cap and (config.max_seconds == 0 or config.max_seconds > cap):
            config = replace(config, max_seconds=cap)
        # Ids apart from training jobs' but in the same queue: negative, so they never collide.
        self.id = -next(_style_ids)
        self.config, self.content, self.style, self.network = config, content, style, network
        self.name = name
        self.slots = slots or jobs.SLOTS
        super().__init__(f"genlab-style-{-self.id}")
        self._state, self._message = QUEUED, L_("waiting for a free slot")
        self._history: list[dict[str, float]] = []
        self._started: Started | None = None
        self._snapshot: Snapshot | None = None
        self._finished: Finished | None = None
        self._step, self._elapsed = 0, 0.0

    def view(self) -> StyleView:
        with self._lock:
            recent = self._history[-5:]
            speed = len(recent) / sum(1 / row["steps_per_second"] for row in recent) if recent else 0.0
            return StyleView(
                id=self.id, state=self._state, message=self._message, step=self._step,
                total_steps=self.config.steps, steps_per_second=speed, elapsed=self._elapsed,
                history=list(self._history), snapshot=self._snapshot, started=self._started,
                finished=self._finished,
                queue_position=self.slots.place_in_queue(self.id) if self._state == QUEUED else 0)

    # --- the thread ---
    def _run(self) -> None:
        runtime.flush_denormals()  # as a training job (jobs.py): before torch computes in this thread
        if not self.slots.acquire(self.id, self._stop):
            self._set(STOPPED, L_("stopped before it started"))
            return
        failure: LazyText | str | None = None
        try:
            self._set(RUNNING, L_("optimising the picture"))
            for event in transfer(self.config, self.content, self.style, self.network, stop=self._stop):
                self._record(event)
        except torch.OutOfMemoryError:
            failure = L_("ran out of memory. Choose a smaller size and try again.")
        except GenLabError as error:
            failure = error.args[0] if error.args and isinstance(error.args[0], LazyText) else str(error)
        except Exception as error:  # a job must never take the server down; report what happened
            failure = L_("the style transfer failed: {error}", error=f"{type(error).__name__}: {error}")
        finally:
            if failure is not None:  # outside the except clause: its traceback holds the activations
                self._set(FAILED, failure)
                runtime.release_memory()
            self.slots.release(self.id)

    def _set(self, state: str, message) -> None:
        with self._lock:
            self._state, self._message = state, message

    def _record(self, event) -> None:
        with self._lock:
            if isinstance(event, Started):
                self._started = event
            elif isinstance(event, Step):
                self._step, self._elapsed = event.step, event.elapsed
                losses = event.losses
                self._history.append({
                    "step": event.step, "total": losses.total, "content": losses.content, "style": losses.style,
                    "tv": losses.tv, "steps_per_second": event.steps_per_second,
                    **{f"style {layer}": value for layer, value in losses.style_layers.items()}})
            elif isinstance(event, Snapshot):
                self._snapshot = event
            elif isinstance(event, Finished):
                self._finished, self._step, self._elapsed = event, event.step, event.seconds
                self._snapshot = Snapshot(event.step, event.image)
                self._state = FINISHED if event.reason == "completed" else STOPPED
                self._message = {
                    "completed": L_("finished {steps} steps in {seconds} s", steps=event.step,
                                    seconds=f"{event.seconds:.1f}"),
                    "stopped": L_("stopped at step {step}", step=event.step),
                    "time_limit": L_("stopped at the time limit of {seconds} s",
                                     seconds=f"{self.config.max_seconds:g}"),
                }[event.reason]
