"""A training run as a stoppable background job: a thread, a lock, a stop event.

The thread drains ``training.loop.train`` and records what it sees; anyone (a Streamlit page polling
every second, a test) reads a consistent copy with ``job.view()``. The job never calls the UI.

A process-wide ``JobSlots`` caps how many jobs train at once (a class of thirty on one server must
not start thirty runs that share two cores); the rest wait in a queue, in order, with a visible
"queued" state and their place in line. The first job a process starts also shares the CPU
threads out between that many jobs (``runtime.budget_threads_for_jobs``).

A job that fails (an exception, NaN losses, out of memory) ends with a message and hands its
memory back. A process-wide ``Watchdog`` notices owners that went away (a browser session closed
mid-training) and lets their owner clean up (watchdog.py).
"""

from __future__ import annotations

import atexit
import itertools
import threading
import time
import weakref
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from genmodels import runtime
from genmodels.configs import TrainConfig
from genmodels.data import Dataset
from genmodels.errors import GenLabError
from genmodels.i18n import L_, LazyText
from genmodels.training import loop
from genmodels.training.loop import EpochEnd, Finished, Snapshot, Started, Step

QUEUED, RUNNING, FINISHED, STOPPED, FAILED = "queued", "running", "finished", "stopped", "failed"
ACTIVE_STATES = (QUEUED, RUNNING)
MAX_SNAPSHOTS = 60  # snapshots kept per job (a timeline to scrub through); older ones are thinned


class JobSlots:
    """At most ``capacity`` jobs run at once; the others wait first-come, first-served."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._condition = threading.Condition()
        self._running: set[int] = set()
        self._waiting: list[int] = []

    def acquire(self, job_id: int, stop: threading.Event) -> bool:
        """Block until ``job_id`` may run (True) or ``stop`` is set while waiting (False)."""
        with self._condition:
            self._waiting.append(job_id)
            try:
                while not (self._waiting[0] == job_id and len(self._running) < self.capacity):
                    if stop.is_set():
                        return False
                    self._condition.wait(timeout=0.2)
                self._running.add(job_id)
                return True
            finally:
                self._waiting.remove(job_id)
                self._condition.notify_all()

    def release(self, job_id: int) -> None:
        with self._condition:
            self._running.discard(job_id)
            self._condition.notify_all()

    def place_in_queue(self, job_id: int) -> int:
        """How many jobs are ahead of ``job_id`` (0 if it is next or running)."""
        with self._condition:
            return self._waiting.index(job_id) if job_id in self._waiting else 0

    @property
    def running(self) -> int:
        with self._condition:
            return len(self._running)


# The one process-wide set of slots. GENLAB_MAX_JOBS sets its size (default: one per 2 cores).
SLOTS = JobSlots(runtime.max_jobs())
# Wall-clock cap of one job (0: none); a forgotten 200-epoch run must not hold a slot all day.
MAX_JOB_SECONDS = runtime.env_number("GENLAB_MAX_JOB_SECONDS", 900.0, 0.0, 7 * 24 * 3600)
_job_ids = itertools.count(1)
_live_jobs: weakref.WeakSet = weakref.WeakSet()  # every started job, of any kind
_exit_hook_installed = False


def stop_all_jobs(timeout: float = 10.0) -> None:
    """Stop every job in this process and wait for them (registered to run at interpreter exit:
    a thread still inside torch while Python shuts down would abort the process)."""
    jobs = list(_live_jobs)
    for job in jobs:
        job.stop()
    deadline = time.monotonic() + timeout
    for job in jobs:
        job.wait(max(0.0, deadline - time.monotonic()))


def register_job(job) -> None:
    """Count ``job`` (anything with ``stop()`` and ``wait(timeout)``: a training job, a style
    transfer) among the jobs stopped at interpreter exit; before a process's first job, install
    that exit hook and share the CPU threads out between the slots."""
    global _exit_hook_installed
    if not _exit_hook_installed:
        atexit.register(stop_all_jobs)
        runtime.budget_threads_for_jobs(SLOTS.capacity)
        _exit_hook_installed = True
    _live_jobs.add(job)


class BackgroundJob:
    """What every background job (a training run, a style transfer) shares: a thread that runs the
    subclass's ``_run``, a stop flag it checks once a step, a lock over its state, and registration
    with the jobs stopped at exit. The subclass sets ``self._state`` before ``start``."""

    def __init__(self, thread_name: str):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def start(self):
        register_job(self)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to stop; it does within one step (or at once while queued)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True if it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def active(self) -> bool:
        """Queued or running: what pages ask on every run, without copying the history (view)."""
        with self._lock:
            return self._state in ACTIVE_STATES


@dataclass(frozen=True)
class JobView:
    """A consistent copy of a job's progress, safe to read from any thread."""

    id: int
    name: str
    family: str
    dataset: str
    state: str
    message: str  # a lazy text: made in the job's thread, shown in the reader's language
    device: str
    step: int
    total_steps: int
    epoch: int
    images_per_second: float
    elapsed: float
    history: list[dict[str, float]] = field(default_factory=list)  # one row per Step event
    epochs: list[dict[str, Any]] = field(default_factory=list)  # one row per EpochEnd
    snapshots: list[Snapshot] = field(default_factory=list)
    queue_position: int = 0
    finished: Finished | None = None
    start_step: int = 0  # > 0 when this job continues an earlier one ("train more")

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def eta_seconds(self) -> float | None:
        done, planned = self.step - self.start_step, self.total_steps - self.start_step
        if self.state != RUNNING or done <= 0 or planned <= 0:
            return None
        return self.elapsed * (planned - done) / done  # elapsed covers this job's steps only

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


class TrainingJob(BackgroundJob):
    def __init__(self, spec, model: torch.nn.Module, dataset: Dataset, config: TrainConfig, *, name: str = "",
                 slots: JobSlots | None = None, optimizers=None, start_step: int = 0):
        cap = MAX_JOB_SECONDS
        if cap and (config.max_seconds == 0 or config.max_seconds > cap):
            config = replace(config, max_seconds=cap)
        self.id = next(_job_ids)
        self.spec, self.model, self.dataset, self.config = spec, model, dataset, config
        self.name = name or spec.name
        self.slots = slots or SLOTS
        # Made here rather than inside train() so that "train more" can hand them to a next job
        # and Adam keeps its moment estimates.
        self.optimizers = optimizers or spec.optimizers(model, config, runtime.resolve_device(config.device))
        self.start_step = start_step
        super().__init__(f"genlab-job-{self.id}")
        self._state, self._message, self._device = QUEUED, L_("waiting for a free training slot"), ""
        self._started: Started | None = None
        self._last_step: Step | None = None
        self._history: list[dict[str, float]] = []
        self._epochs: list[dict[str, Any]] = []
        self._snapshots: list[Snapshot] = []
        self._finished: Finished | None = None
        self._began = time.monotonic()

    # --- reading ---
    def view(self) -> JobView:
        with self._lock:
            started, step = self._started, self._last_step
            return JobView(
                id=self.id, name=self.name, family=self.spec.name, dataset=self.dataset.name, state=self._state,
                message=self._message, device=self._device,
                step=(self._finished.step if self._finished else step.step if step else self.start_step),
                total_steps=(self.start_step + started.total_steps) if started else 0,
                epoch=step.epoch if step else 0,
                images_per_second=step.images_per_second if step else 0.0,
                elapsed=(step.elapsed if step else 0.0) if not self._finished else self._finished.seconds,
                history=list(self._history), epochs=list(self._epochs), snapshots=list(self._snapshots),
                queue_position=self.slots.place_in_queue(self.id) if self._state == QUEUED else 0,
                finished=self._finished, start_step=self.start_step,
            )

    # --- the thread ---
    def _set(self, **values) -> None:
        with self._lock:
            for key, value in values.items():
                setattr(self, f"_{key}", value)

    def _run(self) -> None:
        # Before torch computes anything in this thread (its OpenMP workers copy the setting when
        # they start). The thread that made this one may not flush: Streamlit's script threads come
        # from its server thread, which never runs our code.
        runtime.flush_denormals()
        if not self.slots.acquire(self.id, self._stop):
            self._set(state=STOPPED, message=L_("stopped before it started"))
            return
        try:
            failure = None
            try:
                self._set(state=RUNNING, message=L_("training"))
                self._train()
            except torch.OutOfMemoryError:
                failure = L_("ran out of memory. Lower the batch size or the model's size and try again.")
            except GenLabError as error:  # its message, still lazy: this thread has no reader's language
                failure = error.args[0] if error.args and isinstance(error.args[0], LazyText) else str(error)
            except Exception as error:  # a job must never take the server down; report what happened
                failure = L_("training failed: {error}", error=f"{type(error).__name__}: {error}")
            # Cleaned up outside the except clauses, where the traceback still holds the failed
            # step's frames and with them its activations; and before the slot is handed on, so
            # the next job in line does not run out of memory too.
            if failure is not None:
                self._fail(failure)
        finally:
            self.slots.release(self.id)

    def _train(self) -> None:
        events = loop.train(self.spec, self.model, self.dataset, self.config, stop=self._stop,
                                optimizers=self.optimizers, start_step=self.start_step)
        for event in events:
            if isinstance(event, Finished):
                # The last step's gradients are as big as the model and never read again. Freed
                # before the job says it has ended, so a "train more" job cannot be racing us.
                self.model.zero_grad(set_to_none=True)
            self._record(event)

    def _fail(self, message: str) -> None:
        """End as failed and hand the memory back: the failed step's activations and gradients,
        and the optimizer state (twice the model's size for Adam), which a failed run never reuses."""
        self.model.zero_grad(set_to_none=True)
        self.optimizers = {}
        self._set(state=FAILED, message=message)
        runtime.release_memory()

    def _record(self, event) -> None:
        with self._lock:
            if isinstance(event, Started):
                self._started, self._device = event, event.device
            elif isinstance(event, Step):
                self._last_step = event
                self._history.append({"step": event.step, "epoch": event.epoch, "elapsed": event.elapsed,
                                      "images_per_second": event.images_per_second, **event.terms})
            elif isinstance(event, EpochEnd):
                self._epochs.append({"epoch": event.epoch, "step": event.step, **{f"train_{k}": v for k, v in
                                     event.train.items()}, **event.test})
            elif isinstance(event, Snapshot):
                self._snapshots.append(event)
                if len(self._snapshots) > MAX_SNAPSHOTS:
                    del self._snapshots[1::2]  # keep every other one: the timeline stays evenly spread
            elif isinstance(event, Finished):
                self._finished = event
                self._state = FINISHED if event.reason in ("completed", "max_steps") else STOPPED
                self._message = {
                    "completed": L_("finished {epochs} epoch(s) in {seconds} s", epochs=event.epoch,
                                    seconds=f"{event.seconds:.1f}"),
                    "max_steps": L_("finished {steps} steps in {seconds} s", steps=event.step,
                                    seconds=f"{event.seconds:.1f}"),
                    "stopped": L_("stopped at step {step}", step=event.step),
                    "time_limit": L_("stopped at the time limit of {seconds} s",
                                     seconds=f"{self.config.max_seconds:g}"),
                }[event.reason]


def start_job(family: str, dataset: Dataset, config: TrainConfig, *, name: str = "", seed: int | None = None,
              **model_overrides) -> TrainingJob:
    """Build a fresh model of ``family`` for ``dataset`` (the family's defaults with
    ``model_overrides``) and start training it in the background. Raises ConfigError for bad settings."""
    from genmodels import registry

    spec = registry.family(family)
    model_config = registry.model_config(spec, dataset, **model_overrides)
    model = registry.build_model(spec, model_config, seed=config.seed if seed is None else seed)
    return TrainingJob(spec, model, dataset, config, name=name).start()


def continue_job(previous: TrainingJob, epochs: int) -> TrainingJob:
    """'Train more': a new job on the same model and optimizers, counting steps on from where the
    previous one ended."""
    config = replace(previous.config, epochs=epochs, max_steps=0)
    return TrainingJob(previous.spec, previous.model, previous.dataset, config, name=previous.name,
                       slots=previous.slots, optimizers=previous.optimizers,
                       start_step=previous.view().step).start()
