"""In a real browser: a Chinese browser (locale zh-CN) gets every page in Chinese, drawn with real
CJK glyphs rather than empty boxes; ``?lang=en`` gives the English lab; the sidebar's picker
switches language on the spot, keeps the page and puts the language in the address."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from genmodels.i18n import _, using
from tests.support.app_server import IDLE

CJK = re.compile(r"[\u4e00-\u9fff]")
PAGES = ["", "autoencoders", "denoising", "vae_explorer", "gan_studio", "gan_lab", "train", "models"]


@pytest.fixture
def open_page(browser, app_url):
    """open_page(path, locale) -> a Playwright page of the app at ``path``, its script finished."""
    contexts, errors = [], []

    def opener(path: str = "", locale: str = "zh-CN"):
        context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{app_url}/{path}")
        page.locator(IDLE).wait_for(state="attached", timeout=120_000)
        return page

    yield opener
    for context in contexts:
        context.close()
    assert not errors, errors


def nav_titles(page) -> list[str]:
    return [link.strip() for link in page.get_by_test_id("stSidebarNavLink").all_inner_texts()]


def zh(message: str) -> str:
    with using("zh_CN"):
        return _(message)


@pytest.mark.parametrize("path", PAGES)
def test_a_chinese_browser_reads_every_page_in_chinese(open_page, path):
    page = open_page(path)
    expect(page.get_by_test_id("stSidebarNavLink").first).to_be_visible(timeout=60_000)
    assert zh("Denoising lab") in nav_titles(page), nav_titles(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading").first).to_be_visible(timeout=120_000)
    heading = main.get_by_role("heading").first.inner_text()
    assert CJK.search(heading), f"/{path}: the page's heading is {heading!r}"
    assert len(CJK.findall(main.inner_text())) > 20, f"/{path} shows little Chinese:\n{main.inner_text()[:800]}"
    assert page.url.rstrip("/").endswith(path)  # the address does not change with the language


def ink(picture: bytes) -> np.ndarray:
    """A screenshot as a boolean array: where it is darker than its background."""
    grey = np.asarray(Image.open(io.BytesIO(picture)).convert("L"), dtype=np.int16)
    return np.abs(grey - np.median(grey)) > 60


def test_chinese_is_drawn_with_real_glyphs_not_boxes(open_page):
    page = open_page("")
    expect(page.get_by_test_id("stSidebarNavLink").filter(has_text=zh("Train"))).to_be_visible(timeout=60_000)
    # Two different words of the app, in the app's own font, and two characters no font has (they
    # come out as the "tofu" box a missing CJK font draws for every character). Without a CJK font
    # (tried with fontconfig limited to DejaVu) all three come out as the same two boxes.
    font = page.evaluate("getComputedStyle(document.querySelector('[data-testid=stSidebarNavLink]')).fontFamily")
    page.evaluate("""([font, samples]) => {
        for (const [id, text] of samples) {
            const box = document.createElement('span');
            box.id = id; box.textContent = text;
            box.style.cssText = `font-family: ${font}; font-size: 48px; color: #000; background: #fff;
                                 position: fixed; left: 0; top: ${120 * samples.findIndex(s => s[0] === id)}px;
                                 z-index: 2147483647; padding: 4px; line-height: 1.2`;
            document.documentElement.appendChild(box);
        }
    }""", [font, [["glyphs-train", zh("Train")], ["glyphs-models", zh("Models")],
                  ["glyphs-tofu", "\U000f0000\U000f0001"]]])
    train, models, tofu = (ink(page.locator(f"#glyphs-{name}").screenshot()) for name in ("train", "models", "tofu"))
    assert CJK.search(zh("Train")) and CJK.search(zh("Models")) and len(zh("Train")) == len(zh("Models")) == 2
    assert train.sum() > 200 and models.sum() > 200, "the Chinese words left no ink"
    assert train.shape != tofu.shape or (train != tofu).mean() > 0.02, "训练 is drawn as empty boxes"
    assert train.shape != models.shape or (train != models).mean() > 0.02, \
        "two different Chinese words look the same: boxes, not glyphs (no CJK font for Chromium?)"


def test_lang_en_in_the_link_gives_the_english_lab_to_a_chinese_browser(open_page):
    page = open_page("models?lang=en")
    expect(page.get_by_test_id("stSidebarNavLink").filter(has_text="Denoising lab")).to_be_visible(timeout=60_000)
    assert "Home" in nav_titles(page) and not any(CJK.search(title) for title in nav_titles(page))
    expect(page.get_by_test_id("stSidebar").get_by_text("Compute:")).to_be_visible()
    expect(page.get_by_test_id("stMain").get_by_role("heading", name="Models", exact=True)).to_be_visible()
    # Moving to another page keeps the language, and the link in the address
    page.get_by_test_id("stSidebarNavLink").filter(has_text="2-D GAN lab").click()
    expect(page.get_by_test_id("stMain").get_by_role("heading", name="2-D GAN lab")).to_be_visible(timeout=60_000)
    expect(page).to_have_url(re.compile(r"/gan_lab\?lang=en$"), timeout=30_000)
    assert "Home" in nav_titles(page)


def choose_language(page, name: str) -> None:
    page.locator(IDLE).wait_for(state="attached")
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name=name).click()
    page.locator(IDLE).wait_for(state="attached")


def test_the_sidebar_picker_switches_language_in_place(open_page):
    page = open_page("models", locale="en-US")
    expect(page.get_by_test_id("stSidebarNavLink").filter(has_text="Denoising lab")).to_be_visible(timeout=60_000)
    choose_language(page, "简体中文")
    expect(page.get_by_test_id("stSidebarNavLink").filter(has_text=zh("Denoising lab"))).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stSidebar").get_by_text(zh("Compute:"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"/models\?lang=zh$"))  # the same page, now a link to share
    choose_language(page, "English")
    expect(page.get_by_test_id("stSidebarNavLink").filter(has_text="Denoising lab")).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile(r"/models\?lang=en$"))


def test_a_text_file_in_the_denoising_lab_is_refused_in_chinese(open_page, tmp_path):
    """The browser itself refuses nothing (Streamlit's type refusal is English in every language):
    the lab's own check refuses a text file, in the reader's language."""
    path = tmp_path / "notes.txt"
    path.write_text("not a picture\n")
    page = open_page("denoising")
    uploader = page.get_by_test_id("stFileUploader").filter(has_text=zh("Images (png, jpg, webp, bmp, gif; several "
                                                                        "at once)"))
    uploader.locator("input[type='file']").set_input_files(str(path))
    refusal = page.get_by_test_id("stAlert").filter(has_text="notes.txt")
    expect(refusal).to_contain_text(zh("{error}. Try another picture.").format(error=""), timeout=60_000)
    assert "not allowed" not in page.get_by_test_id("stMain").inner_text()
