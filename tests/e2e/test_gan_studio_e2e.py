"""In a real browser: the GAN studio shows the shipped DCGAN's samples at once, and a new noise seed
draws new ones."""

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
