"""The Denoising lab in AppTest: shipped DAE, the noise slider, uploads good and bad."""


from streamlit.testing.v1 import AppTest

from .conftest import app_on, garment_png


def open_page(**session) -> AppTest:
    return app_on("pages/denoising.py", **session)


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
        "notes.png: not an image in a supported format (PNG, JPEG, WebP, BMP, GIF). Try another picture."]
    downloads = [d for d in app.get("download_button") if "shirt.png" in str(d.proto)]
    assert len(downloads) == 1


def test_a_file_of_another_type_is_refused_in_the_readers_language():
    """The uploader takes any file (Streamlit's own refusal of a type is English in every language):
    the lab's check refuses a text file, here in Chinese, and the page goes on."""
    from genmodels.i18n import using
    from genmodels.ui.i18n import LANGUAGE

    app = open_page(**{LANGUAGE: "zh_CN"})
    with using("zh_CN"):  # AppTest formats the pickers' options again in this thread, to send their state back
        app.file_uploader(key="dn_upload").set_value([("notes.txt", b"not a picture", "text/plain")]).run()
    assert not app.exception
    assert [e.value.replace("\\", "") for e in app.error] == [
        "notes.txt：不是受支持格式（PNG、JPEG、WebP、BMP、GIF）的图片。请换一张图片。"]


def test_a_clean_input_is_identical_not_100_db():
    app = open_page()
    app.slider(key="dn_level").set_value(0.0).run()
    assert not app.exception
    table = app.dataframe[0].value
    noisy_psnr = table[table[""] == "noisy PSNR (dB)"].iloc[0]
    assert set(noisy_psnr.drop("").tolist()) == {"∞ (identical)"}  # every image and the mean
    assert "100.0" not in table.to_string()


def test_a_model_trained_on_own_images_is_tested_on_their_held_out_part():
    from genmodels import checkpoints
    from genmodels.configs import TrainConfig
    from genmodels.images import dataset_from_zip
    from genmodels.serving import jobs
    from genmodels.ui.state import SessionModel

    from .conftest import garment_png
    from .test_images import make_zip

    own = dataset_from_zip(make_zip({f"pics/{i}.png": garment_png(i * 8) for i in range(24)})).dataset
    job = jobs.start_job("dae", own, TrainConfig(epochs=1, batch_size=8, device="cpu"), name="mine")
    assert job.wait(60)
    info = checkpoints.make_info("dae", job.model, name="mine", dataset=own.name)
    app = open_page(genlab_models={"mine": SessionModel(model=job.model, info=info, job=job)})
    app.selectbox(key="dn_model").select("mine (this session)").run()
    assert not app.exception
    assert not any("not on this server" in i.value for i in app.info)
    rows = batch_picture(app)  # clean / noisy / restored rows of its own held-out pictures
    assert "mine (this session)" in rows
    assert app.get("plotly_chart"), "no robustness curve"
