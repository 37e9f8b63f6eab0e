"""The 2-D GAN lab's background runner: it trains only while running and watched, Pause stops it at
the next step and reports the step a fresh frame shows, frames are whole, and a run that cannot go
on (time limit, divergence, nobody looking) stops with a notice."""

import dataclasses
import time

import pytest
import torch

from genmodels import data
from genmodels.lessons import gan_lab_runner
from genmodels.lessons.gan_lab import GANLab
from genmodels.lessons.gan_lab_runner import LabRunner
from genmodels.lessons.gan_lab_settings import LabConfig

SMALL = LabConfig(g_hidden=16, d_hidden=16, batch_size=64)


@pytest.fixture(scope="module")
def ring():
    return data.toy("toy-ring")


def wait_for(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.02)


def runner_on(ring, **changes) -> LabRunner:
    return LabRunner(GANLab(dataclasses.replace(SMALL, **changes), ring), tick_seconds=0.05)


def test_pause_stops_at_the_next_step_and_says_which(ring):
    runner = runner_on(ring)
    runner.start(50)
    wait_for(lambda: runner.lab.step >= 100)
    stopped_at = runner.pause()
    assert not runner.running and stopped_at == runner.lab.step
    time.sleep(0.3)
    assert runner.lab.step == stopped_at  # nothing trains after Pause
    frame = runner.frame()
    assert frame.step == stopped_at == frame.canvas.step  # the frame drawn shows the step reported


def test_a_running_frame_is_one_whole_state(ring):
    runner = runner_on(ring)
    runner.start(20)
    try:
        wait_for(lambda: runner.lab.step >= 60)
        for _ in range(5):
            frame = runner.frame()
            assert frame.step == frame.canvas.step == frame.history[-1]["step"]
            assert frame.d_updates == frame.g_updates == frame.step  # one D and one G update per step
            time.sleep(0.05)
    finally:
        runner.pause()


def test_run_starts_again_after_pause_on_a_thread_of_its_own(ring):
    runner = runner_on(ring)
    for _ in range(3):  # Run, Pause, Run...: each Run trains on from where it stopped
        before = runner.lab.step
        runner.start(10)
        wait_for(lambda before=before: runner.lab.step > before + 20)
        runner.pause()


def test_it_waits_while_nobody_looks_and_goes_on_when_the_page_asks_again(ring, monkeypatch):
    monkeypatch.setattr(gan_lab_runner, "IDLE_SECONDS", 0.3)
    runner = runner_on(ring)
    runner.start(10)
    try:
        time.sleep(0.6)  # no frame asked for: the run waits
        idle = runner.lab.step
        time.sleep(0.4)
        assert runner.lab.step == idle and runner.running
        runner.frame()  # the page is back
        wait_for(lambda: runner.lab.step > idle)
    finally:
        runner.pause()


def test_an_abandoned_run_pauses_for_good(ring, monkeypatch):
    monkeypatch.setattr(gan_lab_runner, "IDLE_SECONDS", 0.1)
    monkeypatch.setattr(gan_lab_runner, "ABANDON_SECONDS", 0.3)
    runner = runner_on(ring)
    runner.start(10)
    wait_for(lambda: not runner.running)
    assert runner.notice[0] == "info" and "nobody was watching" in str(runner.notice[1])


def test_the_run_pauses_itself_after_its_training_time(ring):
    runner = LabRunner(GANLab(SMALL, ring), tick_seconds=0.02, max_run_seconds=0.2)
    runner.start(20)
    wait_for(lambda: not runner.running)
    assert runner.lab.train_seconds >= 0.2
    assert "Paused by itself after 0.2 s of training" in str(runner.notice[1])


def test_a_diverged_run_stops_with_the_advice(ring):
    runner = runner_on(ring)
    with torch.no_grad():
        next(runner.lab.model.discriminator.parameters()).fill_(float("nan"))
    runner.start(10)
    wait_for(lambda: not runner.running)
    kind, text = runner.notice
    assert kind == "error" and "diverged" in str(text) and "Lower the learning rates" in str(text)
