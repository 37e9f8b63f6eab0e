"""The Autoencoders lesson in AppTest: shipped models, the code chart, a short sparse run."""

import json
import time

from streamlit.testing.v1 import AppTest

from .conftest import app_on


def open_page() -> AppTest:
    return app_on("pages/autoencoders.py")


def chart(app: AppTest, key: str) -> str:
    return next(str(c.proto) for c in app.get("plotly_chart") if key in str(c.proto))


def test_opens_with_shipped_models_reconstructions_and_features():
    app = open_page()
    assert app.selectbox(key="ae_model").value.startswith("ae-mlp-32")
    captions = " ".join(str(i.proto) for i in app.get("image"))
    assert "reconstructions" in captions and "the same network without the penalty" in captions


def test_selecting_an_image_updates_its_code_chart():
    app = open_page()
    before = chart(app, "the 32-number code of image 1")
    app.selectbox(key="ae_code_image").select(3).run()
    assert not app.exception
    after = chart(app, "the 32-number code of image 3")
    assert after != before


def test_a_short_sparse_run_shows_its_own_rho():
    app = open_page()
    app.slider(key="ae_rho").set_value(0.2)
    app.number_input(key="ae_epochs").set_value(1)
    app.button(key="ae_train").click().run()
    assert not app.exception
    job = app.session_state["genlab_job"]
    assert job.wait(120), "the sparse run did not finish"
    deadline = time.monotonic() + 60
    while app.selectbox(key="ae_sparse_model").value != f"{job.name} (this session)":
        assert time.monotonic() < deadline, "the page did not switch to the new model"
        app.run()
        assert not app.exception, app.exception
    bars = next(c.proto.spec for c in app.get("plotly_chart") if "each unit" in str(c.proto))
    assert "ρ = 0.2" in [note["text"] for note in json.loads(bars)["layout"]["annotations"]]
