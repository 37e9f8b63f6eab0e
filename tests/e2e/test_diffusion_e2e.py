"""In a real browser: the Diffusion lab's Run trains live on the ring, the samples move and the mode
coverage rises while it runs, and Pause stops it."""

import re
import time

from playwright.sync_api import expect

from .conftest import IDLE
from .test_gan_lab_e2e import wait_for

# The traces of every Plotly chart on the page, as {trace name: its x data, JSON-encoded}. Numpy
# arrays reach the browser as base64 ({"dtype", "bdata"}), so a changed or longer array shows up as
# a changed or longer string.
TRACES = """() => Object.fromEntries(
    Array.from(document.querySelectorAll("[data-testid='stPlotlyChart'] .js-plotly-plot"))
        .flatMap(plot => (plot.data || []).filter(t => t.name).map(t => [t.name, JSON.stringify(t.x)])))"""


def traces(page) -> dict[str, str]:
    return page.evaluate(TRACES)


def settled_traces(page, *names: str) -> dict[str, str]:
    """One reading of the charts that holds all of ``names`` (a rerun can drop a chart for a moment)."""
    reading: dict[str, str] = {}

    def has_all() -> bool:
        reading.clear()
        reading.update(traces(page))
        return all(name in reading for name in names)

    wait_for(has_all, f"the charts showing {', '.join(names)}")
    return reading


def step_shown(page) -> int:
    caption = page.get_by_text(re.compile(r"^Step [\d,]+\. Arrows")).first.inner_text()
    return int(caption.split()[1].rstrip(".").replace(",", ""))


def modes_shown(page) -> int:
    metric = page.get_by_test_id("stMetric").filter(has_text="Modes covered").first
    return int(re.search(r"(\d+) / 8", metric.inner_text()).group(1))


def test_run_moves_the_samples_and_raises_the_coverage_until_paused(page):
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Diffusion lab").click()
    expect(page.get_by_role("heading", name="Diffusion lab")).to_be_visible(timeout=60_000)
    page.locator(IDLE).wait_for(state="attached", timeout=120_000)
    expect(page.get_by_text("No steps yet")).to_be_visible()
    wait_for(lambda: "samples" in traces(page), "the canvas drawing")
    start = settled_traces(page, "samples")["samples"]
    assert modes_shown(page) == 0

    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=30_000)
    wait_for(lambda: step_shown(page) > 100, "training after Run")
    wait_for(lambda: traces(page).get("samples") not in (start, None), "the samples moving after Run")
    wait_for(lambda: modes_shown(page) >= 4, "the coverage rising", seconds=120)

    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.get_by_text(re.compile(r"Paused at step [\d,]+"))).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_visible()
    page.locator(IDLE).wait_for(state="attached", timeout=60_000)
    paused_at = step_shown(page)
    time.sleep(2)  # paused: no more frames arrive
    assert step_shown(page) == paused_at
