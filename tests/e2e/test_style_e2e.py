"""In a real browser: the style-transfer page starts a run on the offline network, the picture
changes and the loss curve grows while it runs, and Stop ends it."""

import re
import time

from playwright.sync_api import expect

from .conftest import IDLE

# The live picture (the image captioned "step N") and the number of points of the total-loss curve.
LIVE = """() => {
    const shot = Array.from(document.querySelectorAll("[data-testid='stImage']"))
        .find(e => /^step \\d+$/.test(e.innerText.trim()));
    const plot = Array.from(document.querySelectorAll("[data-testid='stPlotlyChart'] .js-plotly-plot"))
        .flatMap(p => p.data || []).find(t => t.name === "total (weighted)");
    return {src: shot ? shot.querySelector("img").src : null, caption: shot ? shot.innerText.trim() : null,
            points: plot ? JSON.stringify(plot.x).length : 0};
}"""


def wait_for(condition, what: str, seconds: float = 90):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:g} s"
        time.sleep(0.25)


def test_a_run_changes_the_picture_grows_the_curve_and_stops(page):
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Style transfer").click()
    expect(page.get_by_role("heading", name="Style transfer")).to_be_visible(timeout=60_000)
    page.locator(IDLE).wait_for(state="attached", timeout=60_000)
    expect(page.get_by_text("No run yet: choose the pictures and press Start.")).to_be_visible()

    page.get_by_role("button", name="Start", exact=True).click()
    wait_for(lambda: page.evaluate(LIVE)["points"] > 0, "the first point of the loss curve")
    first = page.evaluate(LIVE)
    wait_for(lambda: (now := page.evaluate(LIVE))["src"] not in (first["src"], None)
             and now["points"] > first["points"], "the picture changing and the curve growing")
    assert re.fullmatch(r"step \d+", page.evaluate(LIVE)["caption"])

    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.get_by_text(re.compile(r"stopped at step \d+"))).to_be_visible(timeout=30_000)
    page.locator(IDLE).wait_for(state="attached", timeout=30_000)
    expect(page.get_by_role("button", name="Download the picture (PNG)")).to_be_visible()
