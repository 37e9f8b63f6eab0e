"""In a real browser: the Autoencoders lesson shows reconstructions and feature images."""

from playwright.sync_api import expect


def test_open_the_lesson_and_see_reconstructions_and_features(page):
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Autoencoders").click()
    expect(page.get_by_role("heading", name="Autoencoders", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stImage").filter(has_text="bottom: reconstructions")).to_be_visible(timeout=60_000)
    features = page.get_by_test_id("stImage").filter(has_text="the same network without the penalty")
    expect(features).to_be_visible(timeout=60_000)
    picture = features.locator("img")
    picture.evaluate("img => img.decode()")  # wait until the picture has loaded and decoded
    assert picture.evaluate("img => img.naturalWidth") > 100  # a real picture arrived
