"""The app and every page load in Streamlit's AppTest without exceptions."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))


def test_app_loads_on_the_home_page():
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception
    assert app.title[0].value == "Generative Models Lab"
    assert "Variational autoencoder" in app.table[0].value.to_string()
    assert "CPU" in app.sidebar.markdown[0].value or "GPU" in app.sidebar.markdown[0].value


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads(page):
    app = AppTest.from_file(APP, default_timeout=60).run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    assert app.title, f"{page} shows no title"


def reset_button_script():
    import streamlit as st

    from genmodels.ui.state import reset_session

    if st.button("Reset session", key="reset"):
        reset_session()


def test_reset_session_stops_the_job_and_forgets_everything():
    # (AppTest drops the sidebar of st.navigation apps after the first run, so the reset logic is
    # driven here through a one-button script; the e2e test clicks the real sidebar button.)
    from genmodels import data
    from genmodels.configs import TrainConfig
    from genmodels.serving import jobs

    job = jobs.start_job("vae", data.sprites(n_train=256, n_test=32), TrainConfig(epochs=500, device="cpu"))
    app = AppTest.from_function(reset_button_script, default_timeout=30)
    app.session_state["genlab_job"] = job
    app.session_state["genlab_models"] = {"old": "a model"}
    app.session_state["gl_lab"] = "the 2-D lab's model"
    app.session_state["dn_level"] = 0.8  # a page's setting
    app.run()
    app.button(key="reset").click().run()
    assert job.wait(30) and job.view().state == "stopped"
    for key in ("genlab_job", "genlab_models", "gl_lab", "dn_level"):
        assert key not in app.session_state
    # The Train page's widgets get new keys: the browser would otherwise show (and send back) the old family.
    from genmodels.ui.state import GENERATION

    assert app.session_state[GENERATION] == 1


def model_picker_script():
    import streamlit as st

    from genmodels.ui.state import model_choices

    st.selectbox("Model", [choice.label for choice in model_choices(("vae",))], key="picker")


def test_pages_can_pick_shipped_and_session_models(tmp_path, monkeypatch, sprites_small):
    from genmodels import checkpoints, registry
    from genmodels.ui import state

    from .conftest import tiny_config

    spec = registry.family("vae")
    model = registry.build_model(spec, tiny_config("vae", sprites_small))
    checkpoints.save_checkpoint(tmp_path / "vae-shipped.safetensors", model,
                                checkpoints.make_info("vae", model, dataset="sprites"))
    (tmp_path / "broken.safetensors").write_bytes(b"garbage")
    monkeypatch.setattr(state, "CHECKPOINT_DIR", tmp_path)
    app = AppTest.from_function(model_picker_script, default_timeout=30)
    app.session_state["genlab_models"] = {
        "mine": state.SessionModel(model=model, info=checkpoints.make_info("vae", model, name="mine")),
    }
    app.run()
    assert not app.exception
    assert app.selectbox(key="picker").options == ["vae-shipped (shipped)", "mine (this session)"]
    loaded, problems = state.shipped_models(str(tmp_path))
    assert list(loaded) == ["vae-shipped"] and "broken.safetensors" in problems[0]
