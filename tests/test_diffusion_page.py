"""The Diffusion lab and Compare pages in AppTest: the lab opens on an untrained ddpm on the ring,
100 steps move the samples and draw the curves, Run trains and Pause stops, the sampler and the
family change as asked; the image half shows the shipped model; Compare trains its four toys."""

import json

from streamlit.testing.v1 import AppTest

from genmodels.lessons.diffusion_lab import DiffusionLab

from .conftest import app_on
from .test_gan_lab_page import chart, metrics

PAGE = "pages/diffusion_lab.py"


def layers(app: AppTest) -> list[str]:
    """The canvas's layers, by the names the page gives them."""
    element = next(e for e in app.get("vega_lite_chart") if "samples" in {d.name for d in e.proto.datasets})
    return [layer["description"] for layer in json.loads(element.proto.spec)["layer"]]


def lab(app: AppTest) -> DiffusionLab:
    return app.session_state["dl_lab"]


def test_opens_on_an_untrained_ddpm_and_100_steps_move_the_samples():
    app = app_on(PAGE)
    assert lab(app).step == 0 and lab(app).config.process == "ddpm"
    assert layers(app) == ["trajectories", "real data", "data noised to t", "samples", "field at t"]
    assert metrics(app)["Modes covered"] == "0 / 8"
    before = chart(app, "samples")["samples"]
    app.button(key="dl_more").click().run()
    assert not app.exception
    assert lab(app).step == 100 and metrics(app)["Step"] == "100"
    assert chart(app, "samples")["samples"] != before
    assert chart(app, "curves")["curves"]


def test_run_trains_and_pause_stops():
    app = app_on(PAGE)
    app.button(key="dl_run").click().run()  # the live part trains for its first frame in this run
    assert app.session_state["dl_running"] and lab(app).step > 0
    app.button(key="dl_pause").click().run()
    assert not app.session_state["dl_running"]
    step = lab(app).step
    assert any(f"Paused at step {step:,}" in i.value for i in app.info)
    app.run()
    assert lab(app).step == step  # paused: a rerun trains nothing


def test_the_sampler_and_the_family_change_as_asked():
    app = app_on(PAGE)
    app.selectbox(key="dl_sampler").set_value("ddpm").run()
    assert lab(app).config.chosen_sampler == "ddpm"
    app.radio(key="dl_process").set_value("flow")
    next(b for b in app.button if b.label == "Apply (a new model)").click().run()
    assert not app.exception
    assert lab(app).config.process == "flow" and lab(app).config.chosen_sampler == "euler"
    assert app.selectbox(key="dl_sampler").options == ["Euler", "Heun (2 evaluations per step)"]


def test_the_image_half_shows_the_shipped_model():
    app = app_on(PAGE)
    assert app.selectbox(key="dl_model").value == "ddpm-fashion (shipped)"
    captions = " ".join(c.value for c in app.caption)
    assert "ms per image on this machine" in captions and "From noise (left, t = 1)" in captions
    app.select_slider(key="dl_image_steps").set_value(10).run()
    assert "10 steps of DDIM" in " ".join(c.value for c in app.caption)


def test_compare_trains_four_models_on_the_toy_and_lists_the_image_generators():
    app = app_on("pages/compare.py", timeout=600)
    assert not app.dataframe  # nothing is scored before it is asked for
    app.button(key="compare_score").click().run()
    table = app.dataframe[0].value  # the image generators (the toy's table comes after pressing the button)
    assert {"dcgan-fashion", "ddpm-fashion", "flow-fashion"} <= set(table["model"])
    app.select_slider(key="compare_toy_steps").set_value(500)
    next(b for b in app.button if b.label == "Train all four and compare").click().run()
    assert not app.exception
    toy = app.dataframe[0].value
    assert list(toy["model"]) == ["GAN", "VAE", "diffusion (DDPM)", "flow matching"]
    assert all(cell.endswith("/ 8") for cell in toy["modes covered"])
