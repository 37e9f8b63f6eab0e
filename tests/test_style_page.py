"""The style-transfer page in AppTest: it opens offline on the random network with both pictures,
the Gram heatmaps and the formulas; a run starts, shows its picture and curves, can be stopped,
and a finished one joins the session's strip with a PNG download; a bad upload is refused."""

import time

from streamlit.testing.v1 import AppTest

from genmodels.ui.state import STYLE_JOB

from .conftest import app_on

PAGE = "pages/style_transfer.py"


def start_button(app: AppTest):
    return next(button for button in app.button if button.label == "Start")


def wait_until_done(job, seconds: float = 120) -> None:
    assert job.wait(seconds), job.view().state


def test_opens_offline_with_pictures_heatmaps_and_formulas():
    app = app_on(PAGE)
    assert app.title[0].value == "Style transfer"
    assert app.selectbox(key="st_features_offline").value == "random"
    assert len(app.get("image")) >= 2  # the content and the style picture
    assert len(app.get("plotly_chart")) == 2  # the Gram heatmaps: style and content picture
    assert len(app.latex) == 5 and any("G^l" in latex.value for latex in app.latex)
    assert any("def gram_matrix" in code.value for code in app.code)
    assert any("No run yet" in info.value for info in app.info)


def test_a_run_starts_shows_progress_finishes_and_joins_the_strip():
    app = app_on(PAGE)
    app.select_slider(key="st_size_offline").set_value(64)
    app.number_input(key="st_steps_offline").set_value(6)
    start_button(app).click().run()
    assert not app.exception, app.exception
    job = app.session_state[STYLE_JOB]
    wait_until_done(job)
    app.run()
    assert not app.exception, app.exception
    view = job.view()
    assert view.state == "finished" and view.step == 6 and len(view.history) == 6
    assert view.finished.image.shape == (3, 43, 64)  # chelsea is 451 x 300: the aspect is kept
    assert any(button.label == "Download the picture (PNG)" for button in app.get("download_button"))
    caption = "Chelsea the cat in the style of Coloured waves (made from a seed), random filters, 64 px"
    assert any(text.value == caption for text in app.text)  # the strip's caption
    assert any(metric.label == "style loss" for metric in app.metric)


def test_stop_ends_a_long_run_within_a_step():
    app = app_on(PAGE)
    app.select_slider(key="st_size_offline").set_value(64)
    app.number_input(key="st_steps_offline").set_value(5000)
    start_button(app).click().run()
    job = app.session_state[STYLE_JOB]
    deadline = time.monotonic() + 60
    while job.view().step < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    app.run()
    app.button(key="st_stop").click().run()
    wait_until_done(job, 30)
    view = job.view()
    assert view.state == "stopped" and view.step < 5000


def test_a_bad_upload_is_refused_and_nothing_else_is_lost():
    app = app_on(PAGE)
    app.selectbox(key="st_style_offline_pick").set_value("upload").run()
    app.file_uploader(key="st_style_offline_upload").set_value(("notes.png", b"not a picture at all", "image/png"))
    app.run()
    assert not app.exception, app.exception
    assert any("notes.png" in error.value and "not an image" in error.value for error in app.error)
    start_button(app).click().run()
    assert any("both pictures" in warning.value for warning in app.warning)
    assert STYLE_JOB not in app.session_state


def test_the_papers_preset_without_vgg_weights_asks_before_downloading(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache: no weights on this "server"
    app = app_on(PAGE)
    app.selectbox(key="st_preset").set_value("paper").run()
    assert not app.exception, app.exception
    assert app.selectbox(key="st_features_paper").value == "vgg19"
    assert any("about 548 MB" in info.value for info in app.info)
    assert any(button.label == "Download the weights (548 MB)" for button in app.button)
    start_button(app).click().run()
    assert any("Download the network's weights first" in warning.value for warning in app.warning)
    assert STYLE_JOB not in app.session_state


def test_one_layer_textures_run_as_background_jobs_and_are_shown():
    from genmodels.ui.state import LAYER_JOBS

    app = app_on(PAGE)
    app.button(key="st_one_layer_offline").click().run()
    assert not app.exception, app.exception
    jobs = app.session_state[LAYER_JOBS]
    assert list(jobs) == ["scale1", "scale2", "scale4", "scale8", "scale16"]  # the preset's style layers
    for job in jobs.values():
        wait_until_done(job)
        assert job.view().finished.image.shape == (3, 64, 64)  # the square style picture
    app.run()
    assert not app.exception, app.exception
    captions = [caption.value for caption in app.caption]
    assert all(layer in captions for layer in jobs)
    assert len(app.get("image")) >= 2 + len(jobs)
