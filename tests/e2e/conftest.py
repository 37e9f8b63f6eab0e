"""End-to-end fixtures: the real app under `streamlit run` on a free loopback port, and Chromium
($CHROMIUM, Debian's or Playwright's: tests.support.browser) driven by Playwright."""

import pytest

from tests.support.app_server import CHROMIUM_ARGS, IDLE, AppServer
from tests.support.browser import MISSING, chromium_path


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    # One torch thread per job: the server shares the cores with Chromium, and two spinning threads on a
    # busy machine made small matmuls up to 100x slower. The lessons' caches warm as on a real server (the
    # test process itself turns warming off).
    environment = {"GENLAB_THREADS": "1", "GENLAB_WARM_CACHES": "1"}
    server = AppServer(tmp_path_factory.mktemp("server") / "streamlit.log", env=environment)
    try:
        server.wait_healthy(timeout=60)
    except RuntimeError as error:
        server.stop()
        pytest.fail(str(error))
    yield server
    server.stop()
    assert server.tracebacks() == 0, server.log.read_text()[-3000:]


@pytest.fixture(scope="session")
def app_url(app_server):
    return app_server.url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = chromium_path()
    if chromium is None:
        pytest.fail(MISSING)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(app_url)
    page.locator(IDLE).wait_for(state="attached", timeout=60_000)
    yield page
    context.close()
    assert not errors, errors
