"""A shared link to a page, opened first on a fresh server, shows that page inside the app (its
sidebar, navigation and layout), not the page file on its own."""

from playwright.sync_api import expect

from tests.support.app_server import IDLE, AppServer


def test_a_pages_own_address_on_a_fresh_server_opens_it_inside_the_app(browser, tmp_path):
    server = AppServer(tmp_path / "streamlit.log", env={"GENLAB_WARM_CACHES": "0"})
    try:
        server.wait_healthy(timeout=60)
        for _ in range(2):  # the first visitor of the server, and one after
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(server.url + "/gan_lab")
            page.locator(IDLE).wait_for(state="attached", timeout=60_000)
            expect(page.get_by_role("heading", name="2-D GAN lab")).to_be_visible(timeout=60_000)
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_text("Compute:")).to_be_visible()  # app.py's sidebar ran
            links = page.get_by_test_id("stSidebarNavLink").all_inner_texts()
            assert "Denoising lab" in [link.strip() for link in links], links  # the app's titles, not file names
            context.close()
    finally:
        server.stop()
    assert server.tracebacks() == 0, server.log.read_text()[-3000:]
