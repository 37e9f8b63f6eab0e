"""Background jobs: progress, stop, failure as a message, and the process-wide queue."""

import dataclasses
import threading
import time

import pytest
import torch

from genmodels import registry
from genmodels.configs import TrainConfig
from genmodels.serving.jobs import FAILED, FINISHED, QUEUED, RUNNING, STOPPED, JobSlots, TrainingJob

from .conftest import tiny_config


def make_job(dataset, slots, epochs=1, **train_overrides):
    spec = registry.family("vae")
    model = registry.build_model(spec, tiny_config("vae", dataset))
    config = TrainConfig(epochs=epochs, batch_size=32, log_every=2, snapshot_every=4, device="cpu",
                         **train_overrides)
    return TrainingJob(spec, model, dataset, config, name="test", slots=slots)


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_job_runs_to_the_end_and_records_its_history(sprites_small):
    job = make_job(sprites_small, JobSlots(1)).start()
    assert job.wait(60)
    view = job.view()
    assert view.state == FINISHED and view.progress == 1.0 and "finished" in view.message
    assert view.history and view.epochs and view.snapshots
    assert view.history[-1]["step"] <= view.step == 16


def test_stop_ends_a_running_job(sprites_small):
    job = make_job(sprites_small, JobSlots(1), epochs=200).start()
    wait_for(lambda: job.view().step > 0)
    job.stop()
    assert job.wait(10)
    assert job.view().state == STOPPED


def test_jobs_beyond_the_cap_queue_in_order_and_say_so(sprites_small):
    slots = JobSlots(1)
    first = make_job(sprites_small, slots, epochs=200).start()
    wait_for(lambda: first.view().state == RUNNING)
    second = make_job(sprites_small, slots).start()
    third = make_job(sprites_small, slots).start()
    wait_for(lambda: third.view().queue_position == 1)
    assert second.view().state == QUEUED and second.view().queue_position == 0
    assert first.active and second.active  # training and queued both count as active
    third.stop()  # leaving the queue works without ever running
    assert third.wait(5) and third.view().state == STOPPED and not third.active
    first.stop()
    assert second.wait(60) and second.view().state == FINISHED and not second.active


def test_a_failing_job_reports_a_message_and_frees_its_slot(sprites_small):
    slots = JobSlots(1)
    job = make_job(sprites_small, slots)
    with torch.no_grad():
        for p in job.model.parameters():
            p.fill_(float("nan"))
    job.start()
    assert job.wait(30)
    view = job.view()
    assert view.state == FAILED and "learning rate" in view.message
    assert slots.running == 0


def test_the_wall_clock_cap_stops_a_job(sprites_small):
    job = make_job(sprites_small, JobSlots(1), epochs=500, max_seconds=0.5).start()
    assert job.wait(30)
    assert job.view().state == STOPPED and "time limit" in job.view().message


def test_a_job_flushes_denormals_even_when_the_thread_that_starts_it_does_not(sprites_small):
    """Adam's moments turn denormal in long runs, and arithmetic on denormals is many times slower
    (an MLP VAE's steps took a third longer on this CPU). A job's thread flushes them whoever starts
    it: Streamlit starts jobs from script threads that never flush."""
    denormal = torch.finfo(torch.float32).tiny / 8
    vae = registry.family("vae")
    kept = []  # per step, in the job's thread: how many of 65,536 denormals survive a multiplication

    def step_and_look(model, x, y, ctx):
        kept.append((torch.full((1 << 16,), denormal) * 1.0).count_nonzero().item())
        return vae.step(model, x, y, ctx)

    spec = dataclasses.replace(vae, step=step_and_look)
    model = registry.build_model(spec, tiny_config("vae", sprites_small))
    config = TrainConfig(epochs=1, batch_size=128, device="cpu")
    # A process's first job sets its threads up (flushing in the thread that starts it); in a server
    # every later job is started by a script thread that never flushed.
    assert make_job(sprites_small, JobSlots(1)).start().wait(60)
    started = {}

    def like_a_script_thread():
        if not torch.set_flush_denormal(False):
            return  # no flush-to-zero on this CPU: nothing to test
        started["kept"] = (torch.full((1 << 16,), denormal) * 1.0).count_nonzero().item()
        started["job"] = TrainingJob(spec, model, sprites_small, config, slots=JobSlots(1)).start()

    starter = threading.Thread(target=like_a_script_thread)
    starter.start()
    starter.join()
    if "job" not in started:
        pytest.skip("this CPU cannot flush denormals")
    assert started["kept"] == 1 << 16  # the starting thread keeps them, so the job's thread must flush
    assert started["job"].wait(60) and started["job"].view().state == FINISHED
    assert kept and set(kept) == {0}
