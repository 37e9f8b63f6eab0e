"""The 2-D GAN lab running by itself: a background thread trains one session's ``GANLab`` frame
by frame and keeps the latest ``Frame`` (everything the page draws) ready.

Why a thread: the page used to train inside its own reruns, drawing a frame and then training for
the next. A browser click (Pause) then had to wait for that training to end before its rerun could
start (2 to 12 s on a busy server), and the browser sometimes showed an empty canvas while a long
rerun was in flight. Now the page's reruns only draw the newest finished frame (a few
milliseconds), so the canvas always has a whole picture and a Pause click is handled at once.

The thread never calls Streamlit. It trains between the page's redraws, not during them: after
publishing a frame it waits until the page says it has drawn it (``drawn``), so the page's
drawing never competes with training for the interpreter (with both at once, the page's numbers
stayed faded half the time). It trains only while someone looks: the page calls ``frame()``
on every redraw, and when no redraw has asked for ``IDLE_SECONDS`` (the tab was closed, or the
student went to another page) the run waits; after ``ABANDON_SECONDS`` it pauses for good and the
thread ends. A run also pauses itself after ``max_run_seconds`` of training, so a forgotten tab
never keeps a server core busy.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from genmodels.errors import TrainingDiverged
from genmodels.i18n import L_
from genmodels.lessons.gan_diagnosis import Diagnosis, Quality
from genmodels.lessons.gan_lab import Canvas, GANLab

TICK_SECONDS = 0.8  # one frame: the thread trains, then publishes a frame, about this often
TRAIN_SECONDS_PER_FRAME = 0.5  # at most this much training per frame (the rest of the tick is drawing)
MAX_RUN_TRAIN_SECONDS = 90  # a run pauses by itself after this much training (Run goes on from there)
IDLE_SECONDS = 5.0  # no redraw asked for a frame this long: the page is not looked at, the run waits
ABANDON_SECONDS = 120.0  # ... and after this long the run pauses and its thread ends


@dataclass(frozen=True)
class Frame:
    """What the page draws of the lab at one step: one consistent state, taken under the lab's lock."""

    step: int
    d_updates: int
    g_updates: int
    canvas: Canvas
    quality: Quality
    verdicts: tuple[float, float] | None  # D's recent mean verdict on real and fake points (lab.recent_verdicts)
    diagnosis: Diagnosis
    history: list[dict]  # a copy of the lab's history rows (the thread goes on appending to the lab's)
    history_stride: int  # steps per history row
    modes: int | None  # the dataset's number of modes (ring, grid), None for moons and spiral
    loss: str  # the lab's GAN loss ("non_saturating" or "least_squares")
    first_full_coverage: tuple[int, float] | None  # (step, train seconds) when every mode was first covered


def take_frame(lab: GANLab) -> Frame:
    """The lab as it is now, in one piece."""
    with lab.lock:
        quality = lab.quality()
        return Frame(step=lab.step, d_updates=lab.d_updates, g_updates=lab.g_updates, canvas=lab.canvas(),
                     quality=quality, verdicts=lab.recent_verdicts(), diagnosis=lab.diagnose(quality),
                     history=list(lab.history), history_stride=lab.history_stride,
                     modes=None if lab.dataset.modes is None else len(lab.dataset.modes), loss=lab.config.loss,
                     first_full_coverage=lab.first_full_coverage)


class LabRunner:
    """Runs one lab in a background thread while ``running``; ``frame()`` is the page's view of it.

    ``speed`` (steps per frame) may change while it runs. ``pause()`` returns once the thread has
    finished the step it was in, so the step it reports is the step a fresh frame shows. ``notice``
    holds why a run stopped by itself (a lazy (kind, text): "info" or "error"), for the page to show."""

    def __init__(self, lab: GANLab, *, tick_seconds: float = TICK_SECONDS,
                 max_run_seconds: float = MAX_RUN_TRAIN_SECONDS):
        self.lab = lab
        self.tick_seconds = tick_seconds
        self.max_run_seconds = max_run_seconds
        self.speed = 1000
        self.notice: tuple[str, str] | None = None
        self._running = False
        self._run_started = 0.0  # lab.train_seconds when Run was pressed
        self._last_seen = time.monotonic()
        self._latest: Frame | None = None
        self._drawn = threading.Event()  # set when the page has drawn the newest frame
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()  # start and pause take turns

    @property
    def running(self) -> bool:
        return self._running

    def start(self, speed: int | None = None) -> None:
        """Run (again): train ``speed`` steps per frame until paused."""
        with self._guard:
            if speed is not None:
                self.speed = speed
            if self._running:
                return
            self.notice = None
            self._run_started = self.lab.train_seconds
            self._last_seen = time.monotonic()
            self._running = True
            if self._thread is None:  # else the thread of the last run has not left its loop: it goes on
                self._thread = threading.Thread(target=self._loop, name="gan-lab-runner", daemon=True)
                self._thread.start()

    def pause(self) -> int:
        """Stop training at the next step (the thread asks before every step); returns the step it stopped at."""
        with self._guard:
            self._running = False
            with self.lab.lock:  # wait for the step in progress
                self._latest = None
                return self.lab.step

    def frame(self) -> Frame:
        """The newest frame. While running: the one the thread finished last (drawing never waits for
        training). Paused: the lab as it is now. Asking counts as someone looking (see IDLE_SECONDS)."""
        self._last_seen = time.monotonic()
        latest = self._latest
        if self._running and latest is not None:
            return latest
        return take_frame(self.lab)

    def drawn(self, frame: Frame) -> None:
        """The page has drawn ``frame``: if it is the newest, the thread may train the next one."""
        if frame is self._latest:
            self._drawn.set()

    def _wait_until_drawn(self) -> None:
        """Wait for the page to draw the newest frame, at most a few ticks (a slow or absent page
        must not stall the run for good: IDLE_SECONDS decides when nobody is looking)."""
        deadline = time.monotonic() + 3 * self.tick_seconds
        while self._running and not self._drawn.wait(0.05) and time.monotonic() < deadline:
            pass

    def _stop(self, kind: str, text: str) -> None:
        self._running = False
        self.notice = (kind, text)

    def _still_running(self) -> bool:
        """Asked at the top of each frame: when the run is over, the thread forgets itself under the
        guard, so a start() right now makes a new thread instead of counting on this one."""
        with self._guard:
            if not self._running:
                self._thread = None
            return self._running

    def _loop(self) -> None:
        while self._still_running():
            began = time.monotonic()
            unseen = began - self._last_seen
            if unseen > ABANDON_SECONDS:
                self._stop("info", L_("Paused at step {step} while nobody was watching the page. Press Run to go "
                                      "on.", step=f"{self.lab.step:,}"))
                break
            if unseen > IDLE_SECONDS:
                time.sleep(0.2)  # nobody is looking: wait for the page to ask for a frame again
                continue
            try:
                self.lab.train(self.speed, max_seconds=TRAIN_SECONDS_PER_FRAME, keep_going=lambda: self._running)
            except TrainingDiverged as error:
                self._stop("error", error.args[0] if error.args else str(error))
                break
            if self.lab.train_seconds - self._run_started >= self.max_run_seconds:
                self._stop("info", L_("Paused by itself after {seconds} s of training, at step {step}. Press Run "
                                      "to go on.", seconds=f"{self.max_run_seconds:g}", step=f"{self.lab.step:,}"))
            self._drawn.clear()
            self._latest = take_frame(self.lab)
            self._wait_until_drawn()
            time.sleep(max(0.0, self.tick_seconds - (time.monotonic() - began)))
