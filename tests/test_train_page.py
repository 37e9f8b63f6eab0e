"""The Train page in Streamlit's AppTest: a tiny real run on sprites, polled to completion."""

import time

from streamlit.testing.v1 import AppTest

from .conftest import app_on, garment_png
from .test_images import make_zip


def open_train_page() -> AppTest:
    return app_on("pages/train.py")


def poll_until(app: AppTest, done, timeout=120.0) -> None:
    """AppTest does not fire run_every: rerun the script ourselves until ``done(app)``."""
    deadline = time.monotonic() + timeout
    while not done(app):
        assert time.monotonic() < deadline, "timed out waiting for the page"
        time.sleep(0.5)
        app.run()
        assert not app.exception, app.exception


def test_a_tiny_vae_run_trains_shows_curves_and_pictures_and_is_kept():
    app = open_train_page()
    app.selectbox(key="train_family").select("vae").run()
    app.selectbox(key="train_dataset_vae").select("sprites").run()
    app.number_input(key="train_epochs_vae").set_value(2)
    app.number_input(key="train_latent_vae").set_value(2)
    app.text_input(key="train_name_vae").input("tiny-vae")
    app.button(key="train_start").click().run()
    assert not app.exception
    poll_until(app, lambda a: "tiny-vae" in a.session_state["genlab_models"]
               if "genlab_models" in a.session_state else False)
    assert app.get("plotly_chart"), "no loss chart shown"
    assert app.get("image"), "no snapshot picture shown"
    kept = app.session_state["genlab_models"]["tiny-vae"]
    assert kept.info.family == "vae" and kept.model.config.latent_dim == 2 and kept.info.metrics["test_loss"] > 0
    assert any("kept in this session" in s.value for s in app.success)


def start_long_vae_run(app: AppTest):
    app.selectbox(key="train_family").select("vae").run()
    app.selectbox(key="train_dataset_vae").select("sprites").run()
    app.number_input(key="train_epochs_vae").set_value(200)
    app.button(key="train_start").click().run()
    return app.session_state["genlab_job"]


def test_stop_stops_a_running_job():
    app = open_train_page()
    job = start_long_vae_run(app)
    poll_until(app, lambda a: job.view().step > 0)
    app.button(key="train_stop").click().run()
    assert job.wait(30)
    assert job.view().state == "stopped"
    app.run()
    kept = app.session_state["genlab_models"][job.name]
    assert kept.info.train_config.max_steps == job.view().step  # "reproduce" retrains no further than this


def test_a_second_start_while_training_is_refused_with_a_message():
    app = open_train_page()
    first = start_long_vae_run(app)
    app.button(key="train_start").click().run()
    assert app.session_state["genlab_job"] is first
    assert any("already training" in w.value for w in app.warning)
    first.stop()
    assert first.wait(30)


def test_switching_family_loads_that_familys_preset():
    app = open_train_page()
    app.number_input(key="train_epochs_ae").set_value(3).run()
    app.selectbox(key="train_family").select("vae").run()
    assert app.number_input(key="train_epochs_vae").value == 10  # the vae preset, not the ae edit
    assert app.number_input(key="train_latent_vae").value == 20
    assert app.text_input(key="train_name_vae").value == "my-vae"


def test_a_bad_zip_is_refused_with_a_message_and_no_job_starts():
    app = open_train_page()
    app.selectbox(key="train_dataset_ae").select("your-images").run()
    app.file_uploader(key="train_zip").upload("holiday.zip", b"this is not a zip", "application/zip").run()
    assert not app.exception
    assert any("holiday.zip cannot be used" in e.value.replace("\\", "") and "not a valid zip" in e.value
               for e in app.error)
    app.button(key="train_start").click().run()
    assert "genlab_job" not in app.session_state
    assert any("Upload a zip of images first" in w.value for w in app.warning)


def test_a_zip_of_own_images_previews_and_trains():
    app = open_train_page()
    app.selectbox(key="train_dataset_ae").select("your-images").run()
    files = {f"pics/{i}.png": garment_png(i * 10) for i in range(20)} | {"pics/notes.txt": b"not an image"}
    app.file_uploader(key="train_zip").upload("mine.zip", make_zip(files), "application/zip").run()
    assert not app.exception
    assert any("20 images from mine.zip" in s.value.replace("\\", "") for s in app.success)
    assert app.get("image"), "no preview of the uploaded images"
    app.number_input(key="train_epochs_ae").set_value(2)
    app.text_input(key="train_name_ae").input("mine-ae")
    app.button(key="train_start").click().run()
    poll_until(app, lambda a: "mine-ae" in a.session_state["genlab_models"]
               if "genlab_models" in a.session_state else False)
    assert app.session_state["genlab_models"]["mine-ae"].info.dataset == "your-images"


def train_tiny_vae(app: AppTest, name: str = "tiny-vae") -> None:
    app.selectbox(key="train_family").select("vae").run()
    app.selectbox(key="train_dataset_vae").select("sprites").run()
    app.number_input(key="train_epochs_vae").set_value(2)
    app.text_input(key="train_name_vae").input(name)
    app.button(key="train_start").click().run()
    poll_until(app, lambda a: name in a.session_state["genlab_models"] if "genlab_models" in a.session_state
               else False)


def test_train_more_continues_the_kept_model_and_extends_its_history():
    app = open_train_page()
    train_tiny_vae(app)
    first = app.session_state["genlab_models"]["tiny-vae"]
    history_before = len(first.info.history)
    app.run()  # the page's one full rerun after the run ended draws the train-more button
    app.button(key="train_more").click().run()
    more = app.session_state["genlab_job"]
    poll_until(app, lambda a: a.session_state["genlab_collected"] == more.id)
    kept = app.session_state["genlab_models"]["tiny-vae"]
    assert kept.model is first.model and kept.info.train_config.epochs == 4
    assert len(kept.info.history) > history_before and kept.info.history[-1]["step"] > first.info.history[-1]["step"]


def test_a_failed_run_reusing_a_name_does_not_offer_the_older_model():
    import torch

    from genmodels import registry
    from genmodels.configs import TrainConfig
    from genmodels.data import sprites
    from genmodels.serving import jobs

    app = open_train_page()
    train_tiny_vae(app, name="mine")
    spec = registry.family("vae")
    broken = registry.build_model(spec, registry.model_config(spec, sprites(n_train=64, n_test=16)))
    with torch.no_grad():
        for parameter in broken.parameters():
            parameter.fill_(float("nan"))
    failing = jobs.TrainingJob(spec, broken, sprites(n_train=64, n_test=16), TrainConfig(epochs=1, log_every=1),
                               name="mine").start()
    assert failing.wait(30)
    app.session_state["genlab_job"] = failing
    app.run()
    assert any("learning rate" in e.value for e in app.error)
    assert not any("kept in this session" in s.value for s in app.success)
