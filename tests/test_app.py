"""The app loads in Streamlit's AppTest without exceptions."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_app_loads_on_the_home_page():
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception
    assert app.title[0].value == "Generative Models Lab"
    assert "Variational autoencoder" in app.table[0].value.to_string()
    assert "CPU" in app.sidebar.markdown[0].value or "GPU" in app.sidebar.markdown[0].value
