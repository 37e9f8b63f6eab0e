"""In a real browser: start a short run, watch the loss chart grow, leave the page while it trains
and see the sidebar follow it to the end, come back to the kept model."""

import re
import time

from playwright.sync_api import expect

from .conftest import IDLE


def choose(page, label: str, option: str) -> None:
    page.locator(IDLE).wait_for(state="attached")
    box = page.get_by_test_id("stSelectbox").filter(has_text=label)
    expect(box).to_have_count(1)  # while a rerun swaps one form for another, old widgets linger briefly
    box.click()
    page.get_by_role("option", name=option).click()
    page.locator(IDLE).wait_for(state="attached")


def test_train_a_vae_and_navigate_while_it_runs(page):
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Train").click()
    expect(page.get_by_role("heading", name="Train a model")).to_be_visible(timeout=30_000)
    choose(page, "Model family", "Variational autoencoder (vae)")
    expect(page.get_by_text("beta (weight on KL)")).to_be_visible()  # the vae form has replaced the ae one
    choose(page, "Dataset", re.compile("^sprites"))
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value(re.compile("^sprites"))
    page.locator(IDLE).wait_for(state="attached")
    # Long enough (~15 s here) that the run is still going when the student reaches Home.
    page.get_by_label("Epochs").fill("40")
    page.get_by_label("Name for the trained model").fill("e2e-vae")
    expect(page.get_by_label("Epochs")).to_have_value("40")
    # Enter in a number box does not start a half-edited form (it used to start the run at once).
    page.get_by_label("Epochs").press("Enter")
    time.sleep(1.5)
    page.locator(IDLE).wait_for(state="attached")
    expect(page.get_by_text("No run yet")).to_be_visible()
    pressed = time.monotonic()
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("Started with:")).to_contain_text("epochs 40", timeout=60_000)  # the run's settings

    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart).to_be_visible(timeout=60_000)
    print(f"first chart {time.monotonic() - pressed:.2f} s after pressing Start")
    points = chart.locator("path.js-line").first
    expect(points).to_be_attached(timeout=30_000)
    first_length = len(points.get_attribute("d") or "")
    deadline = time.monotonic() + 30
    while len(chart.locator("path.js-line").first.get_attribute("d") or "") <= first_length:
        assert time.monotonic() < deadline, "the loss curve did not grow"
        time.sleep(0.25)

    page.get_by_test_id("stSidebarNavLink").filter(has_text="Home").click()
    expect(page.get_by_role("heading", name="Generative Models Lab")).to_be_visible()
    # The sidebar's job line keeps itself up to date on any page, until the run has finished.
    expect(page.get_by_test_id("stSidebar")).to_contain_text("e2e-vae: training")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("e2e-vae: finished", timeout=120_000)
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Train").click()
    expect(page.get_by_text("kept in this session as")).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("stImage").first).to_be_visible()

    page.get_by_test_id("stSidebar").get_by_role("button", name="Reset session").click()
    expect(page.get_by_test_id("stSidebar")).to_contain_text("No training job in this session yet.")
    expect(page.get_by_text("No run yet")).to_be_visible()
    # "Every page's settings" are forgotten: the family picker is back on its first family, not on vae.
    expect(page.get_by_role("combobox", name="Model family")).to_have_value(re.compile(r"^Autoencoder \(ae\)"))
