"""The Denoising lab in AppTest: shipped DAE, the noise slider, uploads good and bad."""


from streamlit.testing.v1 import AppTest

from .conftest import app_on, garment_png


def open_page() -> AppTest:
    return app_on("pages/denoising.py")


def batch_picture(app: AppTest) -> str:
    return next(str(i.proto) for i in app.get("image") if "rows: clean / noisy" in str(i.proto))


def test_opens_on_the_shipped_dae_and_the_noise_slider_changes_the_noisy_images():
    app = open_page()
    assert app.selectbox(key="dn_model").value.startswith("dae-fashion")
    assert any("was trained with Gaussian noise at 0.5" in c.value for c in app.caption)
    before = batch_picture(app)
    app.slider(key="dn_level").set_value(0.2).run()
    assert not app.exception
    assert batch_picture(app) != before
    app.selectbox(key="dn_kind").select("block").run()
    assert not app.exception


def test_an_upload_of_a_good_and_a_bad_file_gives_one_result_and_one_error():
    app = open_page()
    app.file_uploader(key="dn_upload").set_value([("shirt.png", garment_png(20, (80, 60)), "image/png"),
                                                  ("notes.png", b"this is text, not a png", "image/png")]).run()
    assert not app.exception
    assert [e.value.replace("\\", "") for e in app.error] == [  # Markdown escapes: the name is plain text
        "notes.png: not an image in a supported format (PNG, JPEG, WebP, BMP, GIF)."]
    downloads = [d for d in app.get("download_button") if "shirt.png" in str(d.proto)]
    assert len(downloads) == 1
