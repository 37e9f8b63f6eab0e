"""In a real browser: the 2-D GAN lab's Run button trains live, the canvas changes and the curves
grow while it runs, the canvas and the curves are drawn in every screenshot taken during the run
(issue 17, finding 7: 4 of 7 were empty, each frame mounted a new Plotly chart that was blank until
drawn), the numbers stay solid, and Pause takes effect within one frame."""

import io
import re
import time

from PIL import Image, ImageChops
from playwright.sync_api import expect

from genmodels.lessons.gan_lab_runner import TICK_SECONDS

from .conftest import IDLE

# How visible the first metric ("Modes covered") is: the product of its ancestors' opacities.
METRIC_OPACITY = """() => { let o = 1; for (let e = document.querySelector("[data-testid='stMetric']"); e;
    e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity); return o; }"""
CHARTS = "[data-testid='stVegaLiteChart']"  # the canvas, then (after the first step) the curves
# Press Pause in the page and time, by the page's own clock, until the notice is on screen (Playwright's
# own click first waits for the button to hold still, which on a busy browser took seconds).
PAUSE_MS = """() => new Promise(resolve => {
  const button = [...document.querySelectorAll("button")].find(b => b.innerText.trim() === "Pause");
  const start = performance.now();
  button.click();
  const poll = () => document.body.innerText.includes("Paused at step") ? resolve(performance.now() - start)
                                                                         : requestAnimationFrame(poll);
  poll();
})"""


def step_shown(page) -> int:
    caption = page.get_by_text(re.compile(r"^Step [\d,]+ \(")).first.inner_text()
    return int(caption.split()[1].replace(",", ""))


def wait_for(condition, what: str, seconds: float = 60):
    """Poll ``condition()`` until it is true: the server and the browser share a loaded machine."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:g} s"
        time.sleep(0.25)


def chart_pictures(page) -> list[Image.Image]:
    """One screenshot of the page, cut into the charts it shows (canvas first)."""
    picture = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    cuts = []
    for box in page.locator(CHARTS).evaluate_all(
            "charts => charts.map(c => { const r = c.getBoundingClientRect(); "
            "return [r.left, r.top, r.width, r.height]; })"):
        left, top, width, height = (int(v) for v in box)
        cuts.append(picture.crop((left, top, left + width, top + height)))
    return cuts


def drawn_share(picture: Image.Image) -> float:
    """The share of a chart's pixels that are not page white: a drawn canvas has its coloured
    background and points, drawn curves their lines; an empty chart is white."""
    pixels = list(picture.get_flattened_data())
    return sum(1 for r, g, b in pixels if min(r, g, b) < 235) / max(len(pixels), 1)


def test_run_draws_every_frame_whole_and_pause_stops_within_one_frame(page, app_server):
    # The server warms the lessons' caches in the background after the first page: let it finish,
    # so the timings below measure the lab, not the warm-up sharing the two cores.
    app_server.wait_for_log("lessons' caches warm in", timeout=300)
    page.get_by_test_id("stSidebarNavLink").filter(has_text="2-D GAN lab").click()
    expect(page.get_by_role("heading", name="2-D GAN lab")).to_be_visible(timeout=60_000)
    page.locator(IDLE).wait_for(state="attached", timeout=60_000)
    expect(page.get_by_text("No steps yet")).to_be_visible()
    wait_for(lambda: len(chart_pictures(page)) == 1 and drawn_share(chart_pictures(page)[0]) > 0.2,
             "the canvas drawing")

    page.get_by_role("button", name="One step", exact=True).click()
    wait_for(lambda: step_shown(page) == 1, "one D+G step")
    wait_for(lambda: page.locator(CHARTS).count() == 2, "the curves after the first step")

    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=30_000)
    wait_for(lambda: step_shown(page) > 50, "training after Run")

    # The numbers stay solid while it runs: Streamlit fades what a rerun has not redrawn yet.
    opacities = []
    for _ in range(20):
        opacities.append(page.evaluate(METRIC_OPACITY))
        time.sleep(0.2)
    assert sum(o > 0.9 for o in opacities) >= len(opacities) // 2, opacities

    # Every screenshot during the run shows the canvas and the curves drawn, in a tall window (the
    # old page drew empty charts in every mid-run shot at this height), and the canvas moves on.
    page.set_viewport_size({"width": 1400, "height": 1800})
    canvases = []
    for shot in range(10):
        charts = chart_pictures(page)
        assert len(charts) == 2, f"screenshot {shot}: {len(charts)} charts on the page"
        for name, picture in zip(("canvas", "curves"), charts):
            assert drawn_share(picture) > 0.02, f"screenshot {shot}: the {name} is blank"
        canvases.append(charts[0])
        time.sleep(0.6)
    assert sum(ImageChops.difference(a, b).getbbox() is not None for a, b in zip(canvases, canvases[1:])) >= 3

    # Pause, three times (each after a few frames of running): the median is within a frame.
    took = []
    for attempt in range(3):
        if attempt:
            page.get_by_role("button", name="Run", exact=True).click()
            expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=30_000)
            page.wait_for_timeout(4000)
        took.append(page.evaluate(PAUSE_MS) / 1000)
    print(f"Pause click to 'Paused at step' on screen: {', '.join(f'{t:.2f}' for t in took)} s")
    assert sorted(took)[1] < 2 * TICK_SECONDS, took  # a frame, and the browser's redraw (it took 2 to 12 s)
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_visible()
    page.locator(IDLE).wait_for(state="attached", timeout=30_000)
    paused_at = step_shown(page)
    notice = page.get_by_text(re.compile(r"Paused at step [\d,]+")).inner_text()
    assert int(re.search(r"step ([\d,]+)", notice).group(1).replace(",", "")) == paused_at  # what it says it shows
    page.wait_for_timeout(1000)  # the last redraw settles
    still = chart_pictures(page)[0]
    time.sleep(2)  # paused: no more frames arrive
    assert step_shown(page) == paused_at
    assert ImageChops.difference(still, chart_pictures(page)[0]).getbbox() is None
