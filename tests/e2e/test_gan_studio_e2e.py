"""In a real browser: the GAN studio shows the shipped DCGAN's samples at once, a new noise seed
draws new ones, and a run's timeline keeps following the newest snapshot after another page."""

import time

from playwright.sync_api import expect

from .conftest import IDLE


def test_shipped_dcgan_samples_change_with_the_seed(page):
    page.get_by_test_id("stSidebarNavLink").filter(has_text="GAN studio").click()
    expect(page.get_by_role("heading", name="GAN studio")).to_be_visible(timeout=60_000)
    samples = page.get_by_test_id("stImage").filter(has_text="samples from noise seed 0")
    expect(samples).to_be_visible(timeout=60_000)
    first = samples.locator("img").get_attribute("src")
    seed = page.get_by_label("Noise seed", exact=True)
    seed.fill("5")
    seed.press("Enter")
    expect(page.get_by_test_id("stImage").filter(has_text="samples from noise seed 5")).to_be_visible(timeout=60_000)
    page.locator(IDLE).wait_for(state="attached", timeout=60_000)
    assert page.get_by_test_id("stImage").filter(has_text="samples from noise seed 5").locator("img") \
        .get_attribute("src") != first


def timeline(page) -> tuple[int, int]:
    """The timeline slider's (value, max), as it shows them: the thumb's value and the track's end."""
    slider = page.get_by_test_id("stSlider").filter(has_text="Timeline: snapshot")
    return (int(slider.get_by_test_id("stSliderThumbValue").inner_text()),
            int(slider.get_by_test_id("stSliderTickBar").inner_text().split()[-1]))


def wait_until(condition, what: str, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except Exception:  # the slider is being redrawn: read it again
            pass
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:g} s"
        time.sleep(0.3)


def test_the_timeline_follows_the_newest_snapshot_after_another_page(page):
    """Issue 17, finding 6: after a visit to another page the timeline came back at snapshot 1 and
    stayed there for the rest of the run."""
    page.get_by_test_id("stSidebarNavLink").filter(has_text="GAN studio").click()
    expect(page.get_by_role("heading", name="GAN studio")).to_be_visible(timeout=60_000)
    page.locator(IDLE).wait_for(state="attached", timeout=60_000)
    page.get_by_role("button", name="Start training").click()
    try:
        wait_until(lambda: timeline(page)[1] >= 3, "three snapshots")
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Models").click()
        expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible(timeout=60_000)
        page.wait_for_timeout(3000)  # the run goes on meanwhile
        page.get_by_test_id("stSidebarNavLink").filter(has_text="GAN studio").click()
        expect(page.get_by_role("heading", name="GAN studio")).to_be_visible(timeout=60_000)
        wait_until(lambda: timeline(page)[1] >= 3, "the timeline back on the page")
        value, count = timeline(page)
        assert value == count, (value, count)
        wait_until(lambda: timeline(page)[1] > count, "a newer snapshot")
        value, newer = timeline(page)
        assert value == newer, (value, newer)  # still following
    finally:
        stop = page.get_by_role("button", name="Stop", exact=True)
        if stop.count():
            stop.first.click()
