"""In a real browser: download a checkpoint from the Models page, upload it back, see it listed."""

from playwright.sync_api import expect


def test_download_a_checkpoint_and_upload_it_back(page, tmp_path):
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Models").click()
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible(timeout=120_000)
    with page.expect_download(timeout=60_000) as download_info:
        page.get_by_role("button", name="Download as .safetensors").click()
    path = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(path)
    assert path.stat().st_size > 100_000 and path.suffix == ".safetensors"

    uploader = page.get_by_test_id("stFileUploader").filter(has_text="A .safetensors file")
    uploader.locator("input[type='file']").set_input_files(str(path))
    expect(page.get_by_test_id("stAlert").filter(has_text="Loaded")).to_contain_text("every lesson page can use it",
                                                                                 timeout=60_000)
    expect(page.locator("[data-testid^='glide-cell']", has_text="(this session)").first).to_be_attached()  # listed
