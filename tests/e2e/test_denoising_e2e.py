"""In a real browser: upload a picture through the file input and see it denoised."""


from PIL import Image
from playwright.sync_api import expect


def test_upload_an_image_and_see_it_denoised(page, tmp_path):
    picture = Image.new("RGB", (90, 70), (240, 240, 240))
    picture.paste((10, 10, 10), (30, 10, 60, 60))
    path = tmp_path / "my-shirt.png"
    picture.save(path)

    page.get_by_test_id("stSidebarNavLink").filter(has_text="Denoising lab").click()
    expect(page.get_by_role("heading", name="Denoising lab")).to_be_visible(timeout=60_000)
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Images (png, jpg")
    uploader.locator("input[type='file']").set_input_files(str(path))
    expect(page.get_by_text("my-shirt.png").first).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stImage").filter(has_text="denoised (")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="Download the denoised my-shirt.png (28x28 PNG)")).to_be_visible()
