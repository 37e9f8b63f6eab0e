"""In a real browser: the Diffusion lab's Run trains live on the ring, the samples move and the mode
coverage rises while it runs, the canvas and the curves are drawn in every screenshot taken during
the run (the Plotly canvas it had first was blank in 1 of 10), and Pause stops it."""

import re
import time

from PIL import ImageChops
from playwright.sync_api import expect

from .conftest import IDLE
from .test_gan_lab_e2e import chart_pictures, drawn_share, wait_for


def step_shown(page) -> int:
    caption = page.get_by_text(re.compile(r"^Step [\d,]+\. Arrows")).first.inner_text()
    return int(caption.split()[1].rstrip(".").replace(",", ""))


def modes_shown(page) -> int:
    metric = page.get_by_test_id("stMetric").filter(has_text="Modes covered").first
    return int(re.search(r"(\d+) / 8", metric.inner_text()).group(1))


def canvas_picture(page):
    """The canvas (the first chart on the page), once it is drawn."""
    found = []

    def drawn() -> bool:
        charts = chart_pictures(page)
        found[:] = charts[:1]
        return bool(charts) and drawn_share(charts[0]) > 0.05

    wait_for(drawn, "the canvas drawing")
    return found[0]


def test_run_moves_the_samples_and_raises_the_coverage_until_paused(page):
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Diffusion lab").click()
    expect(page.get_by_role("heading", name="Diffusion lab")).to_be_visible(timeout=60_000)
    page.locator(IDLE).wait_for(state="attached", timeout=120_000)
    expect(page.get_by_text("No steps yet")).to_be_visible()
    start = canvas_picture(page)
    assert modes_shown(page) == 0

    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=30_000)
    wait_for(lambda: step_shown(page) > 100, "training after Run")
    wait_for(lambda: ImageChops.difference(start, canvas_picture(page)).getbbox() is not None,
             "the samples moving after Run")

    # Every screenshot during the run shows the canvas and the curves drawn, in a tall window.
    page.set_viewport_size({"width": 1400, "height": 1800})
    for shot in range(10):
        charts = chart_pictures(page)
        assert len(charts) == 2, f"screenshot {shot}: {len(charts)} charts on the page"
        for name, picture in zip(("canvas", "curves"), charts):
            assert drawn_share(picture) > 0.02, f"screenshot {shot}: the {name} is blank"
        time.sleep(0.6)
    wait_for(lambda: modes_shown(page) >= 4, "the coverage rising", seconds=120)

    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.get_by_text(re.compile(r"Paused at step [\d,]+"))).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_visible()
    page.locator(IDLE).wait_for(state="attached", timeout=60_000)
    paused_at = step_shown(page)
    time.sleep(2)  # paused: no more frames arrive
    assert step_shown(page) == paused_at
