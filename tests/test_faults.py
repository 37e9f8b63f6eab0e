"""Faults: a job that raises, diverges or runs out of memory ends with a message, frees its memory
and hands its slot on; a closed session's job is stopped and its models forgotten; process-wide
settings (threads, the global random generator) are owned by the process, never by a job; an
interrupted checkpoint write leaves no half file; a restart loses nothing shipped."""

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import threading
import weakref
from pathlib import Path

import pytest
import torch

from genmodels import checkpoints, registry, runtime
from genmodels.configs import TrainConfig
from genmodels.serving.jobs import FAILED, FINISHED, STOPPED, JobSlots, TrainingJob
from genmodels.serving.watchdog import Watchdog

from .conftest import tiny_config
from .test_jobs import wait_for

ROOT = Path(__file__).resolve().parents[1]


def job_with_step(dataset, slots, step, family="vae", epochs=1, **train):
    """A tiny job of ``family`` whose optimizer step is ``step(model, x, y, ctx)``."""
    spec = dataclasses.replace(registry.family(family), step=step)
    model = registry.build_model(spec, tiny_config(family, dataset))
    config = TrainConfig(epochs=epochs, batch_size=32, log_every=2, snapshot_every=0, device="cpu", **train)
    return TrainingJob(spec, model, dataset, config, name="fault", slots=slots)


class Failing:
    """A step that trains normally ``after`` times, then allocates a big activation and raises
    ``error(message)`` (a fresh exception, as torch raises); it records whether that activation
    was already freed when the job handed its memory back."""

    def __init__(self, error: type[BaseException], message: str, after: int = 2):
        self.error, self.message, self.after, self.calls = error, message, after, 0
        self.activation: weakref.ref | None = None
        self.freed_at_release: bool | None = None

    def __call__(self, model, x, y, ctx):
        self.calls += 1
        if self.calls <= self.after:
            return registry.family("vae").step(model, x, y, ctx)
        activation = torch.ones(4096, 1024)  # 16 MiB, as a big intermediate result would be
        self.activation = weakref.ref(activation)
        raise self.error(self.message)

    def released(self):
        self.freed_at_release = self.activation is not None and self.activation() is None


@pytest.mark.parametrize("error, raised, message", [
    (RuntimeError, "boom", "training failed: RuntimeError: boom"),
    (torch.OutOfMemoryError, "CUDA out of memory. Tried to allocate 20.00 GiB",
     "ran out of memory. Lower the batch size or the model's size and try again."),
])
def test_a_job_that_raises_ends_with_a_message_and_frees_its_memory(sprites_small, monkeypatch, error, raised,
                                                                     message):
    step = Failing(error, raised)
    monkeypatch.setattr(runtime, "release_memory", step.released)
    slots = JobSlots(1)
    job = job_with_step(sprites_small, slots, step).start()
    assert job.wait(30)
    view = job.view()
    assert view.state == FAILED and view.message == message
    assert slots.running == 0
    # The failed step's activation was gone before the memory was handed back (not kept alive by
    # the traceback), and so are the gradients and Adam's state, which a failed run never reuses.
    assert step.freed_at_release is True
    assert all(p.grad is None for p in job.model.parameters())
    assert job.optimizers == {}


def test_a_job_whose_loss_turns_nan_ends_with_advice_and_hands_its_slot_on(sprites_small):
    def diverging(model, x, y, ctx):
        terms = registry.family("vae").step(model, x, y, ctx)
        return {**terms, "loss": terms["loss"] * float("nan")}

    slots = JobSlots(1)
    failing = job_with_step(sprites_small, slots, diverging).start()
    queued = job_with_step(sprites_small, slots, registry.family("vae").step).start()  # waits behind it
    assert failing.wait(30) and queued.wait(60)
    assert failing.view().state == FAILED
    assert "diverged" in failing.view().message and "learning rate" in failing.view().message
    assert queued.view().state == FINISHED


def test_a_finished_job_keeps_no_gradients(sprites_small):
    job = job_with_step(sprites_small, JobSlots(1), registry.family("vae").step).start()
    assert job.wait(30) and job.view().state == FINISHED
    assert all(p.grad is None for p in job.model.parameters())
    assert job.optimizers["model"].state  # Adam's moments stay, for "train more"


@pytest.mark.parametrize("family", list(registry.FAMILIES))
def test_jobs_never_touch_the_global_random_generator(family, sprites_small, ring_small):
    data = ring_small if family == "gan" else sprites_small
    torch.manual_seed(1234)
    before = torch.random.get_rng_state()
    spec = registry.family(family)
    model = registry.build_model(spec, tiny_config(family, data), seed=5)
    config = TrainConfig(epochs=1, batch_size=64, log_every=2, snapshot_every=3, device="cpu")
    job = TrainingJob(spec, model, data, config, slots=JobSlots(1)).start()
    assert job.wait(60) and job.view().state == FINISHED
    assert torch.equal(torch.random.get_rng_state(), before)


def test_a_run_is_reproducible_while_other_threads_use_the_global_generator(sprites_small):
    """Thirty students share one process: one's run must not depend on what the others draw."""
    def run():
        spec = registry.family("dae")
        model = registry.build_model(spec, tiny_config("dae", sprites_small), seed=3)
        config = TrainConfig(epochs=1, batch_size=64, log_every=2, snapshot_every=0, device="cpu", seed=9)
        job = TrainingJob(spec, model, sprites_small, config, slots=JobSlots(1)).start()
        assert job.wait(60) and job.view().state == FINISHED
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    quiet = run()
    stop = threading.Event()

    def noisy():
        while not stop.is_set():
            torch.rand(64)

    other = threading.Thread(target=noisy)
    other.start()
    try:
        busy = run()
    finally:
        stop.set()
        other.join()
    assert torch.equal(quiet, busy)


# --------------------------------------------------------------------------------------------
# Process-wide settings
# --------------------------------------------------------------------------------------------

def test_threads_are_shared_out_between_the_jobs_a_server_runs_at_once(monkeypatch):
    monkeypatch.delenv("GENLAB_THREADS", raising=False)
    monkeypatch.delenv("GENLAB_MAX_JOBS", raising=False)
    monkeypatch.setattr(runtime, "available_cores", lambda: 16)
    assert runtime.max_jobs() == 8 and runtime.threads_per_job() == 1  # half the cores train, one each
    monkeypatch.setenv("GENLAB_MAX_JOBS", "2")
    assert runtime.max_jobs() == 2 and runtime.threads_per_job() == 4
    monkeypatch.setenv("GENLAB_MAX_JOBS", "3")
    assert runtime.threads_per_job() == 2
    monkeypatch.setenv("GENLAB_THREADS", "4")
    assert runtime.threads_per_job() == 4
    monkeypatch.setattr(runtime, "available_cores", lambda: 1)
    monkeypatch.delenv("GENLAB_THREADS")
    monkeypatch.delenv("GENLAB_MAX_JOBS")
    assert runtime.max_jobs() == 1 and runtime.threads_per_job() == 1


@pytest.mark.parametrize("name, value, complaint", [
    ("GENLAB_MAX_JOBS", "lots", "GENLAB_MAX_JOBS='lots' is not a number"),
    ("GENLAB_MAX_JOBS", "0", "GENLAB_MAX_JOBS=0 is out of range"),
    ("GENLAB_MAX_JOBS", "2.5", "must be a whole number"),
    ("GENLAB_THREADS", "-1", "GENLAB_THREADS=-1 is out of range"),
])
def test_a_bad_setting_is_refused_naming_the_variable(monkeypatch, name, value, complaint):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=complaint):
        runtime.threads_per_job()


def test_the_thread_budget_is_set_once_and_job_threads_inherit_it(sprites_small, monkeypatch):
    monkeypatch.setenv("GENLAB_THREADS", "1")
    monkeypatch.setattr(runtime, "_budgeted_for", None)
    threads_before = torch.get_num_threads()
    try:
        assert runtime.budget_threads_for_jobs(4) == 1
        monkeypatch.setenv("GENLAB_THREADS", "2")
        assert runtime.budget_threads_for_jobs(4) == 1  # once per process: later calls change nothing
        seen = []

        def recording(model, x, y, ctx):
            seen.append(torch.get_num_threads())
            return registry.family("vae").step(model, x, y, ctx)

        job = job_with_step(sprites_small, JobSlots(1), recording).start()
        assert job.wait(30) and seen and set(seen) == {1}
    finally:
        torch.set_num_threads(threads_before)


# --------------------------------------------------------------------------------------------
# Closed sessions
# --------------------------------------------------------------------------------------------

class Owner:
    def __init__(self):
        self.present, self.cleaned = True, 0

    def alive(self):
        return self.present

    def gone(self):
        self.cleaned += 1


def test_the_watchdog_cleans_up_after_an_owner_gone_longer_than_its_grace():
    dog, owner = Watchdog(interval=3600), Owner()  # rounds driven by hand through check(now)
    dog.watch("s1", owner.alive, owner.gone, grace=120)
    assert dog.check(now=0) == []
    owner.present = False
    assert dog.check(now=10) == [] and dog.check(now=129) == []  # inside the reconnect window
    assert dog.check(now=131) == ["s1"] and owner.cleaned == 1
    assert dog.check(now=500) == [] and owner.cleaned == 1 and not dog.watching("s1")


def test_an_owner_that_reconnects_within_its_grace_is_kept():
    dog, owner = Watchdog(interval=3600), Owner()
    dog.watch("s1", owner.alive, owner.gone, grace=120)
    owner.present = False
    dog.check(now=0)
    owner.present = True
    dog.check(now=100)
    owner.present = False
    assert dog.check(now=200) == []  # the grace restarts at the second disappearance
    assert dog.check(now=321) == ["s1"]


def test_the_watchdog_survives_owners_that_fail_and_keeps_those_it_cannot_ask():
    dog = Watchdog(interval=3600)

    def broken_cleanup():
        raise RuntimeError("cleanup failed")

    def cannot_tell():
        raise RuntimeError("runtime shutting down")

    other = Owner()
    other.present = False
    dog.watch("broken", lambda: False, broken_cleanup, grace=0)
    dog.watch("unknown", cannot_tell, other.gone, grace=0)
    dog.watch("mock", lambda: object(), other.gone, grace=0)  # AppTest's runtime answers with a mock
    dog.watch("gone", other.alive, other.gone, grace=0)
    assert sorted(dog.check(now=1)) == ["broken", "gone"]
    assert other.cleaned == 1 and dog.watching("unknown") and dog.watching("mock")


def test_the_watchdog_thread_stops_a_closed_sessions_job_by_itself(sprites_small):
    slots = JobSlots(1)
    long_run = job_with_step(sprites_small, slots, registry.family("vae").step, epochs=500).start()
    wait_for(lambda: long_run.view().step > 0)
    dog, owner = Watchdog(), Owner()
    dog.watch("s1", owner.alive, long_run.stop, grace=0.2)
    owner.present = False
    assert long_run.wait(10), "the watchdog did not stop the job"
    assert long_run.view().state == STOPPED and slots.running == 0


def test_a_sessions_job_is_stopped_and_its_models_forgotten_once_it_has_gone(monkeypatch):
    """The app's side: the sidebar signs each session up with the watchdog, with Streamlit's
    reconnect window as the grace; cleaning up stops the job and empties the session."""
    from genmodels.ui import state as ui_state

    from .test_train_page import open_train_page, start_long_vae_run

    signed_up = {}

    class Recorder:
        def watch(self, owner, alive, gone, grace):
            signed_up.update(owner=owner, alive=alive, gone=gone, grace=grace)

    monkeypatch.setattr(ui_state, "WATCHDOG", Recorder())
    app = open_train_page()
    job = start_long_vae_run(app)
    app.session_state["genlab_models"] = {"kept": object()}
    app.run()
    assert signed_up["grace"] == 120  # server.disconnectedSessionTTL's default
    assert signed_up["alive"]() is not False  # AppTest's stand-in runtime: never counted as gone
    signed_up["gone"]()
    assert job.view().state == STOPPED and not job.view().active
    for key in ("genlab_job", "genlab_models", "train_family"):
        assert key not in app.session_state


# --------------------------------------------------------------------------------------------
# Checkpoint writes and restarts
# --------------------------------------------------------------------------------------------

def small_checkpoint(sprites_small, name="v"):
    spec = registry.family("vae")
    model = registry.build_model(spec, tiny_config("vae", sprites_small), seed=1)
    info = checkpoints.make_info("vae", model, name=name, dataset="sprites")
    return model, info


def test_an_interrupted_overwrite_keeps_the_old_checkpoint_whole(sprites_small, tmp_path, monkeypatch):
    model, info = small_checkpoint(sprites_small)
    path = checkpoints.save_checkpoint(tmp_path / "v.safetensors", model, info)
    before = path.read_bytes()

    def interrupted(fd, *args):
        raise KeyboardInterrupt  # Ctrl-C, or the server stopping, half-way through the write

    monkeypatch.setattr(checkpoints.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        checkpoints.save_checkpoint(path, model, dataclasses.replace(info, name="newer"))
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["v.safetensors"]


KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    from genmodels import checkpoints
    def stall(fd):  # the bytes are in the temporary file; the process dies before the rename
        print("writing", flush=True)
        time.sleep(60)
    checkpoints.os.fsync = stall
    checkpoints.write_atomically(sys.argv[1], b"x" * 5_000_000)
""")


def test_a_process_killed_mid_write_leaves_the_old_file_and_a_restart_loads_every_model(sprites_small, tmp_path):
    """A server killed (power cut, OOM killer) while writing into its checkpoint folder: the real
    file is untouched, and the next start loads every model and ignores the leftover part-file."""
    from genmodels.ui.state import shipped_models

    folder = tmp_path / "checkpoints"
    for name in ("a", "b"):
        model, info = small_checkpoint(sprites_small, name)
        checkpoints.save_checkpoint(folder / f"{name}.safetensors", model, info)
    original = (folder / "a.safetensors").read_bytes()
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(folder / "a.safetensors")],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert writer.stdout.readline().strip() == "writing"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
    assert (folder / "a.safetensors").read_bytes() == original
    assert [p.name for p in folder.glob(".a.safetensors.*.partial")]  # what the kill left behind
    (folder / "c.safetensors").write_bytes(original[: len(original) // 2])  # a file cut short some other way

    shipped_models.clear()  # a fresh server process: nothing cached
    models, problems = shipped_models(str(folder))
    shipped_models.clear()
    assert sorted(models) == ["a", "b"]
    assert len(problems) == 1 and problems[0].startswith("c.safetensors:")

