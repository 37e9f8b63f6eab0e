"""Background jobs: progress, stop, failure as a message, and the process-wide queue."""

import time

import torch

from genmodels import registry
from genmodels.jobs import FAILED, FINISHED, QUEUED, RUNNING, STOPPED, JobSlots, TrainingJob
from genmodels.training import TrainConfig

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
