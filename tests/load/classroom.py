"""A class at once: N browser sessions (Playwright contexts in one headless Chromium) against one
real ``streamlit run`` server.

Some sessions train a small model (the Train page's GAN preset on a 2-D ring of 8,000 points, for
``--epochs``) while the others move the VAE explorer's latent slider. Measured and checked:

- the job cap queues the excess, and the queued sessions see it ("queued" in their sidebar);
- isolation: each trainer sees its own model and no other's, the others see none;
- slider latency: key press on the z1 slider to the new decoded image on screen (p50, p95, max);
- a session closed mid-training has its job stopped: the slot frees within Streamlit's reconnect
  window (``--ttl``, the server's ``server.disconnectedSessionTTL``) plus the watchdog's round;
- server memory (RSS): the baseline after a warm-up, the peak, and what is left after every
  session has closed.

    python -m tests.load.classroom --sessions 30 --trainers 10     # prints the figures as JSON

``tests/load/test_classroom.py`` runs a small class inside ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.support.app_server import CHROMIUM_ARGS, IDLE, AppServer
from tests.support.browser import chromium_path

# Thirty tabs in one browser: none of them may be throttled as a background tab.
BROWSER_ARGS = [*CHROMIUM_ARGS, "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
                "--disable-backgrounding-occluded-windows"]
TRAIN = ("Train", "Train a model")  # sidebar link, page heading
GAN = "GAN (MLP) (gan)"  # the family picker's label of the smallest preset: a 2-D GAN on 8,000 points
FAMILY_SETTING = {GAN: "D steps per G step"}  # a setting only that family's form has
EXPLORER = ("VAE latent explorer", "VAE latent explorer")


@dataclass(frozen=True)
class ClassConfig:
    sessions: int = 4  # browser sessions in all
    trainers: int = 2  # of which this many train; the rest move sliders
    job_cap: int = 1  # GENLAB_MAX_JOBS of the server
    epochs: int = 20  # each trainer's run (the GAN preset: 32 steps an epoch)
    moves: int = 8  # slider moves per slider session
    think: float = 0.5  # seconds between two slider moves
    ttl: int = 5  # server.disconnectedSessionTTL: how long a closed session may come back
    settle: int = 15  # seconds after the ttl before memory is read again
    leaver: int = 1  # 0: skip the session closed mid-training (e.g. to compare memory with a long ttl)
    timeout: float = 600  # for any one wait

    def __post_init__(self):
        if not 1 <= self.trainers <= self.sessions:
            raise ValueError("need 1 <= trainers <= sessions")


@dataclass
class ClassReport:
    config: dict
    sessions: int = 0
    trainers: int = 0
    job_cap: int = 0
    queued_seen: int = 0  # sessions that saw their job queued (trainers, and the probe behind the leaver)
    jobs_finished: int = 0
    isolation_ok: bool = False
    isolation_problems: list[str] = field(default_factory=list)
    slider_moves: int = 0
    slider_p50_s: float = 0.0
    slider_p95_s: float = 0.0
    slider_max_s: float = 0.0
    server_cpu_share: float = 0.0  # server CPU seconds per second while the class trained and slid (2.0: both cores)
    closed_job_freed_after_s: float | None = None  # a session closed mid-training -> its slot free again
    baseline_rss_mb: float = 0.0  # after a warm-up visit of every page used
    peak_rss_mb: float = 0.0  # the server's high-water mark (VmHWM)
    after_rss_mb: float = 0.0  # ttl + settle seconds after every session has closed
    retained_mb: float = 0.0  # after - baseline
    freed_fraction: float = 0.0  # of what the class added to the baseline at its peak
    rss_after_close: list[float] = field(default_factory=list)  # MiB, each second after the last tab closed
    lost_widget_changes: int = 0  # see Session.start_training
    page_errors: list[str] = field(default_factory=list)
    server_tracebacks: int = 0
    wall_s: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


# --------------------------------------------------------------------------------------------
# One browser session
# --------------------------------------------------------------------------------------------

class Session:
    shots: Path | None = None  # where a failing session leaves a screenshot

    def __init__(self, browser, url: str, timeout: float):
        self.browser, self.url, self.timeout_ms = browser, url, timeout * 1000
        self.errors: list[str] = []
        self.lost_changes = 0  # widget changes the server never reran for (made again)
        self.context = self.page = None

    async def open(self, link: str = "", heading: str = "") -> Session:
        """A new browser context on the app's address (as a student types it), then the sidebar's
        ``link`` to the page titled ``heading``. (Not a deep link: on a fresh server Streamlit runs
        a deep-linked file of pages/ on its own until some session has run app.py.)"""
        self.context = await self.browser.new_context(viewport={"width": 1300, "height": 900})
        self.page = await self.context.new_page()
        self.page.set_default_timeout(self.timeout_ms)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        await self.page.goto(self.url)
        await self.idle()
        if link:
            await self.go(link, heading)
        return self

    async def shoot(self, what: str) -> None:
        """A screenshot of this session's page, for a failure's post-mortem (if ``shots`` is set)."""
        if Session.shots is not None:
            await self.page.screenshot(path=Session.shots / f"{id(self):x}-{what}.png", full_page=True)

    async def idle(self) -> None:
        await self.page.locator(IDLE).wait_for(state="attached")

    async def close(self) -> None:
        await self.context.close()

    async def go(self, link: str, heading: str) -> None:
        from playwright.async_api import expect

        await self.page.get_by_test_id("stSidebarNavLink").filter(has_text=link).click()
        await expect(self.page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=self.timeout_ms)
        await self.idle()

    async def sidebar(self) -> str:
        return await self.page.get_by_test_id("stSidebar").inner_text()

    async def choose(self, label: str, option) -> None:
        from playwright.async_api import expect

        await self.idle()
        box = self.page.get_by_test_id("stSelectbox").filter(has_text=label)
        await expect(box).to_have_count(1)  # while a rerun swaps one form for another, old widgets linger
        await box.click()
        await self.page.get_by_role("option", name=option).click()
        await self.idle()

    async def start_training(self, name: str, epochs: int, family: str = "") -> None:
        """On the Train page: the preset of ``family`` (a label of the family picker; default: the
        page's first, a plain autoencoder on Fashion-MNIST) for ``epochs`` epochs, named ``name``;
        checked in the sidebar, which names the job that started."""
        for _ in range(3):
            if family:
                await self.choose_family(family)
            await self.fill_training_form(name, epochs)
            await self.page.get_by_role("button", name="Start training").click()
            started = await self.started_job()
            if started == name:
                return
            self.lost_changes += 1
            if started is None:  # the press never reached a rerun: a student presses again
                await self.shoot(f"lost-start-{self.lost_changes}")
                continue
            # Seen on a heavily loaded server: the form went in with the values it had before our
            # typing reached it. A student would stop it and start again; so do we, and count it.
            await self.page.get_by_test_id("stSidebar").get_by_role("button", name="Stop training").click()
            await self.watch_job(started, until="stopped")
        raise RuntimeError(f"{name}: the form never went in with its values")

    async def choose_family(self, family: str) -> None:
        """Pick ``family`` and wait for its form (its own settings) to replace the previous one."""
        from playwright.async_api import expect

        for _ in range(3):
            await self.choose("Model family", family)
            try:
                await expect(self.page.get_by_text(FAMILY_SETTING[family])).to_be_visible(timeout=60_000)
                return
            except AssertionError:
                # The change never reached a full rerun (seen on a loaded server while the page's
                # once-a-second fragments kept rerunning). A student picks again; so do we.
                self.lost_changes += 1
                await self.shoot(f"lost-family-{self.lost_changes}")
                await self.choose("Model family", "Autoencoder (ae)")
        raise RuntimeError(f"the {family} form never appeared")

    async def fill_training_form(self, name: str, epochs: int) -> None:
        from playwright.async_api import expect

        page = self.page
        await expect(page.get_by_role("heading", name="Train a model")).to_be_visible(timeout=self.timeout_ms)
        await page.get_by_label("Epochs").fill(str(epochs))
        await page.get_by_label("Name for the trained model").fill(name)
        await expect(page.get_by_label("Epochs")).to_have_value(str(epochs))
        await expect(page.get_by_label("Name for the trained model")).to_have_value(name)

    async def started_job(self, patience: float = 120) -> str | None:
        """The name of the job the sidebar shows once there is one; None if none has appeared
        after ``patience`` seconds."""
        deadline = time.monotonic() + patience
        pattern = re.compile(r"\n([^\n:]+): (queued|training|finished|stopped|failed)")
        while time.monotonic() < deadline:
            match = pattern.search(await self.sidebar())
            if match:
                return match.group(1)
            await asyncio.sleep(0.25)
        return None

    async def watch_job(self, name: str, until: str) -> set[str]:
        """Poll the sidebar's job line until it says ``until`` ("training" or "finished");
        return every state seen on the way (queued, training, finished, ...)."""
        seen: set[str] = set()
        deadline = time.monotonic() + self.timeout_ms / 1000
        pattern = re.compile(rf"{re.escape(name)}: (queued|training|finished|stopped|failed)")
        line = ""
        while until not in seen:
            text = await self.sidebar()
            match = pattern.search(text)
            if match:
                seen.add(match.group(1))
                line = text[match.start():].split("\n")[0]
            if (seen & {"failed", "stopped"} and until not in seen) or time.monotonic() > deadline:
                await self.shoot(f"{name}-{until}")
                raise RuntimeError(f"{name}: waited for {until}, saw {sorted(seen)}; last: {line!r}")
            await asyncio.sleep(0.25)
        return seen

    async def session_models(self) -> list[str]:
        """The Models page's table: the models this session has of its own."""
        from playwright.async_api import expect

        await self.go("Models", "Models")
        await expect(self.page.locator("[data-testid^='glide-cell']", has_text="(shipped)").first).to_be_attached()
        cells = await self.page.locator("[data-testid^='glide-cell']", has_text="(this session)").all_inner_texts()
        return sorted({cell.strip().removesuffix(" (this session)") for cell in cells})

    async def move_slider(self, moves: int, think: float, patience: float = 60) -> list[float]:
        """On the VAE explorer: press the right arrow on the z1 slider ``moves`` times, each time
        timing the key press until the image decoded from the slider's new value is on screen.
        A press whose image has not come after ``patience`` seconds counts as a lost change and is
        made again, as a student would; its latency runs from the first press."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout
        from playwright.async_api import expect

        page = self.page
        slider = page.get_by_test_id("stSlider").filter(has_text="z1 (horizontal)")
        thumb, shown = slider.get_by_role("slider"), slider.get_by_test_id("stSliderThumbValue")
        latencies = []
        for _ in range(moves):
            pressed = time.monotonic()
            for _attempt in range(3):
                before = await shown.inner_text()
                await thumb.focus()
                await thumb.press("ArrowRight")
                try:
                    await expect(shown).not_to_have_text(before, timeout=patience * 1000)
                    caption = f"decoded from (z1, z2) = ({float(await shown.inner_text()):.2f}, "
                    await page.get_by_test_id("stImage").filter(has_text=caption).wait_for(
                        state="visible", timeout=patience * 1000)
                    break
                except (PlaywrightTimeout, AssertionError):
                    self.lost_changes += 1
                    await self.shoot(f"lost-slider-{self.lost_changes}")
            else:
                raise RuntimeError(f"the slider's image never followed it (from z1 = {before})")
            latencies.append(time.monotonic() - pressed)
            await asyncio.sleep(think)
        return latencies


# --------------------------------------------------------------------------------------------
# The class
# --------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else 0.0


async def closed_mid_training(browser, server: AppServer, config: ClassConfig, report: ClassReport,
                              sessions: list[Session]) -> None:
    """A leaver starts the longest run the page offers and closes the tab; a probe, ready to start,
    presses Start at once and is queued behind it: how long until the probe trains?"""
    leaver, probe = await asyncio.gather(Session(browser, server.url, config.timeout).open(*TRAIN),
                                         Session(browser, server.url, config.timeout).open(*TRAIN))
    sessions.append(probe)
    await leaver.start_training("leaver", 200)  # 200 epochs of Fashion-MNIST: many minutes
    await leaver.watch_job("leaver", until="training")
    await probe.fill_training_form("probe", 10)  # long enough (about 30 s) to be stopped while training
    report.page_errors += leaver.errors
    report.lost_widget_changes += leaver.lost_changes
    await leaver.close()
    closed = time.monotonic()
    await probe.page.get_by_role("button", name="Start training").click()
    probe_states = await probe.watch_job("probe", until="training")
    report.closed_job_freed_after_s = round(time.monotonic() - closed, 1)
    report.queued_seen += "queued" in probe_states
    await probe.page.get_by_test_id("stSidebar").get_by_role("button", name="Stop training").click()
    await probe.watch_job("probe", until="stopped")


async def run_class(config: ClassConfig, server: AppServer) -> ClassReport:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=config.timeout * 1000)  # a loaded server answers slowly, not wrongly
    report = ClassReport(config=asdict(config), sessions=config.sessions, trainers=config.trainers,
                         job_cap=config.job_cap)
    began = time.monotonic()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        sessions: list[Session] = []
        try:
            # Warm-up: one student does a little of everything once, so that the baseline holds
            # what any class needs once per server (shipped models, datasets, the encoded test set,
            # first-use costs of each code path), and what stays is what the class left behind.
            warm = await Session(browser, server.url, config.timeout).open(*EXPLORER)
            await warm.move_slider(1, 0)
            await warm.go(*TRAIN)
            await warm.start_training("warm-up", 1, family=GAN)
            await warm.watch_job("warm-up", until="finished")
            await warm.session_models()
            await warm.close()
            await asyncio.sleep(min(config.ttl, 60) + 5)  # the warm-up session too is forgotten
            report.baseline_rss_mb = server.memory_mib()["rss_mib"]

            # The class arrives: trainers and slider movers, all at once.
            class_began, cpu_before = time.monotonic(), server.cpu_seconds()
            names = [f"load-{i}" for i in range(config.trainers)]
            movers = config.sessions - config.trainers
            sessions = await asyncio.gather(
                *[Session(browser, server.url, config.timeout).open(*TRAIN) for _ in names],
                *[Session(browser, server.url, config.timeout).open(*EXPLORER) for _ in range(movers)])
            trainers, sliders = sessions[:config.trainers], sessions[config.trainers:]

            async def train(session: Session, name: str) -> set[str]:
                await session.start_training(name, config.epochs, family=GAN)
                return await session.watch_job(name, until="finished")

            results = await asyncio.gather(*[train(s, n) for s, n in zip(trainers, names)],
                                           *[s.move_slider(config.moves, config.think) for s in sliders])
            seen, latencies = results[:config.trainers], [x for moves in results[config.trainers:] for x in moves]
            report.queued_seen = sum("queued" in states for states in seen)
            report.jobs_finished = sum("finished" in states for states in seen)
            report.slider_moves = len(latencies)
            report.slider_p50_s = round(percentile(latencies, 0.5), 3)
            report.slider_p95_s = round(percentile(latencies, 0.95), 3)
            report.slider_max_s = round(max(latencies, default=0.0), 3)
            report.server_cpu_share = round((server.cpu_seconds() - cpu_before) / (time.monotonic() - class_began), 2)

            # Isolation: every session's Models page lists its own model and nobody else's.
            listed = await asyncio.gather(*[s.session_models() for s in sessions])
            for index, own in enumerate(listed):
                mine = names[index] if index < config.trainers else None
                others = [name for name in own if name in names and name != mine]
                if others or (mine is not None and mine not in own):
                    report.isolation_problems.append(f"session {index} lists {own}; its own: {mine}")
            report.isolation_ok = not report.isolation_problems

            # A student closes the tab mid-training: the job must stop and free its slot.
            if config.leaver:
                await closed_mid_training(browser, server, config, report, sessions)
            report.peak_rss_mb = server.memory_mib()["peak_rss_mib"]
        finally:
            for session in sessions:
                report.page_errors += session.errors
                report.lost_widget_changes += session.lost_changes
                await session.close()
            await browser.close()

    # Everyone has left: the watchdog forgets each session once the reconnect window has passed.
    left = time.monotonic()
    while time.monotonic() - left < config.ttl + config.settle:
        await asyncio.sleep(1)
        report.after_rss_mb = round(server.memory_mib()["rss_mib"], 1)
        report.rss_after_close.append(report.after_rss_mb)
    report.peak_rss_mb = round(max(report.peak_rss_mb, server.memory_mib()["peak_rss_mib"]), 1)
    report.baseline_rss_mb = round(report.baseline_rss_mb, 1)
    grown = report.peak_rss_mb - report.baseline_rss_mb
    report.retained_mb = round(report.after_rss_mb - report.baseline_rss_mb, 1)
    report.freed_fraction = round(1 - report.retained_mb / grown, 2) if grown > 0 else 1.0
    report.server_tracebacks = server.tracebacks()
    report.wall_s = round(time.monotonic() - began, 1)
    return report


def run(config: ClassConfig, log_dir: Path | None = None) -> ClassReport:
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="genlab-classroom-"))
    Session.shots = log_dir
    server = AppServer(log_dir / "streamlit.log", env={"GENLAB_MAX_JOBS": str(config.job_cap)},
                       options={"server.disconnectedSessionTTL": config.ttl})
    try:
        server.wait_healthy()
        # A thread of its own: in a pytest run, the e2e tests' sync Playwright keeps an event loop
        # running in the main thread, and asyncio.run refuses to start a second one there.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, run_class(config, server)).result()
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = ClassConfig()
    for name, value in asdict(defaults).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args(argv)
    config = ClassConfig(**{k: getattr(args, k) for k in asdict(defaults)})
    print(run(config).to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
