"""In a real browser: the 2-D GAN lab's Run button trains live, the generated points move and the
curves grow while it runs, and Pause stops it."""

import re
import time

from playwright.sync_api import expect

from .conftest import IDLE

# The traces of every Plotly chart on the page, as {trace name: its x data, JSON-encoded}. Numpy
# arrays reach the browser as base64 ({"dtype", "bdata"}), so a changed or longer array shows up as
# a changed or longer string.
TRACES = """() => Object.fromEntries(
    Array.from(document.querySelectorAll("[data-testid='stPlotlyChart'] .js-plotly-plot"))
        .flatMap(plot => (plot.data || []).filter(t => t.name).map(t => [t.name, JSON.stringify(t.x)])))"""


# How visible the first metric ("Modes covered") is: the product of its ancestors' opacities.
METRIC_OPACITY = """() => { let o = 1; for (let e = document.querySelector("[data-testid='stMetric']"); e;
    e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity); return o; }"""


def traces(page) -> dict[str, str]:
    return page.evaluate(TRACES)


def step_shown(page) -> int:
    caption = page.get_by_text(re.compile(r"^Step [\d,]+ \(")).first.inner_text()
    return int(caption.split()[1].replace(",", ""))


def settled_traces(page, *names: str) -> dict[str, str]:
    """One reading of the charts that holds all of ``names`` (a rerun can drop a chart for a moment)."""
    reading: dict[str, str] = {}

    def has_all() -> bool:
        reading.clear()
        reading.update(traces(page))
        return all(name in reading for name in names)

    wait_for(has_all, f"the charts showing {', '.join(names)}")
    return reading


def wait_for(condition, what: str, seconds: float = 60):
    """Poll ``condition()`` until it is true: the server and the browser share a loaded machine."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:g} s"
        time.sleep(0.25)


def test_run_moves_the_points_and_grows_the_curves_until_paused(page):
    page.get_by_test_id("stSidebarNavLink").filter(has_text="2-D GAN lab").click()
    expect(page.get_by_role("heading", name="2-D GAN lab")).to_be_visible(timeout=60_000)
    page.locator(IDLE).wait_for(state="attached", timeout=60_000)
    expect(page.get_by_text("No steps yet")).to_be_visible()
    wait_for(lambda: "generated G(z)" in traces(page), "the canvas drawing")  # Plotly draws after the page
    start = settled_traces(page, "generated G(z)")["generated G(z)"]

    page.get_by_role("button", name="One step", exact=True).click()
    wait_for(lambda: step_shown(page) == 1, "one D+G step")
    wait_for(lambda: "D loss" in traces(page), "the first point of the curves")
    wait_for(lambda: traces(page).get("generated G(z)") not in (start, None), "the points moving after one step")
    one_step = settled_traces(page, "generated G(z)")["generated G(z)"]

    pressed = time.monotonic()
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=30_000)
    wait_for(lambda: step_shown(page) > 50, "training after Run")
    print(f"50 steps {time.monotonic() - pressed:.1f} s after pressing Run")
    # Plotly redraws a moment after the caption (or before it): wait for the points, do not race them.
    wait_for(lambda: traces(page).get("generated G(z)") not in (one_step, None), "the points moving after Run")
    now = settled_traces(page, "generated G(z)", "D loss")
    moved, curve = now["generated G(z)"], len(now["D loss"])
    wait_for(lambda: len(traces(page).get("D loss", "")) > curve, "the loss curve growing")
    wait_for(lambda: traces(page).get("generated G(z)") not in (moved, None), "the points moving on")
    # The numbers stay solid while it runs: Streamlit fades what a rerun has not redrawn yet, and frames
    # that trained before drawing had kept them faded most of the time.
    opacities = []
    for _ in range(20):
        opacities.append(page.evaluate(METRIC_OPACITY))
        time.sleep(0.2)
    assert sum(o > 0.9 for o in opacities) >= len(opacities) // 2, opacities

    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.get_by_text(re.compile(r"Paused at step [\d,]+"))).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_visible()
    page.locator(IDLE).wait_for(state="attached", timeout=30_000)
    paused_at, paused_points = step_shown(page), settled_traces(page, "generated G(z)")["generated G(z)"]
    notice = page.get_by_text(re.compile(r"Paused at step [\d,]+")).inner_text()
    assert int(re.search(r"step ([\d,]+)", notice).group(1).replace(",", "")) == paused_at  # what it says it shows
    time.sleep(2)  # paused: no more frames arrive
    assert step_shown(page) == paused_at
    assert settled_traces(page, "generated G(z)")["generated G(z)"] == paused_points
