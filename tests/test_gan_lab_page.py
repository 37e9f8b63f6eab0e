"""The 2-D GAN lab page in AppTest: opens on the balanced preset, single steps move the canvas and
the coverage, D only leaves G's points alone, Run trains and pauses itself, settings apply live or
start a new model, and bad values in session state come back as plain messages."""

import json
import time

import torch
from streamlit.testing.v1 import AppTest

from genmodels.lessons.gan_lab import GANLab
from genmodels.lessons.gan_lab_settings import LabConfig, preset_config

from .conftest import app_on

PAGE = "pages/gan_lab.py"


def chart(app: AppTest, dataset: str) -> dict[str, bytes]:
    """The datasets (name -> Arrow bytes) of the Vega-Lite chart that holds ``dataset`` ("generated":
    the canvas; "curves")."""
    for element in app.get("vega_lite_chart"):
        found = {d.name: d.data.data for d in element.proto.datasets}
        if dataset in found:
            return found
    raise AssertionError(f"no chart with the dataset {dataset!r}")


def spec(app: AppTest, dataset: str) -> dict:
    element = next(e for e in app.get("vega_lite_chart") if dataset in {d.name for d in e.proto.datasets})
    return json.loads(element.proto.spec)


def table(app: AppTest, dataset: str):
    import pyarrow

    return pyarrow.ipc.open_stream(chart(app, dataset)[dataset]).read_pandas()


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def lab(app: AppTest) -> GANLab:
    return app.session_state["gl_lab"]


def submit(app: AppTest) -> AppTest:
    next(b for b in app.button if b.label == "Apply").click()
    return app.run()


def test_opens_on_the_balanced_preset_with_an_untrained_model():
    app = app_on(PAGE)
    assert app.selectbox(key="gl_preset").value == "balanced"
    assert lab(app).step == 0 and lab(app).config == preset_config("balanced")
    assert [layer["description"] for layer in spec(app, "generated")["layer"]] == [
        "real data", "generated", "D's verdict", "noise grid through G", "G's gradient"]
    assert metrics(app)["Modes covered"] == "0 / 8"
    assert any("No steps yet" in i.value for i in app.info)
    assert any(e.label.startswith("How it works") for e in app.expander)


def test_a_few_steps_move_the_points_and_draw_the_curves():
    app = app_on(PAGE)
    before = chart(app, "generated")["generated"]
    for _ in range(3):
        app.button(key="gl_step").click().run()
    assert not app.exception
    assert lab(app).step == 3 and lab(app).g_updates == 3
    assert chart(app, "generated")["generated"] != before
    curves = table(app, "curves")
    assert set(curves["term"]) == {"D loss", "G loss", "D(x)", "D(G(z))"} and len(curves) == 3 * 4
    assert any("Thin, faint lines: each step's raw value; thick lines: the same, smoothed." in c.value
               for c in app.caption)
    assert "D(x), real" in metrics(app) and "Modes covered" in metrics(app)
    assert any("Step 3 (3 D updates, 3 G updates)" in c.value for c in app.caption)


def test_d_only_repaints_ds_verdict_and_leaves_gs_points_alone():
    app = app_on(PAGE)
    canvas = chart(app, "generated")
    generator = [p.clone() for p in lab(app).model.generator.parameters()]
    app.button(key="gl_step_d").click().run()
    after = chart(app, "generated")
    assert after["generated"] == canvas["generated"]
    assert after["surface"] != canvas["surface"]
    assert all(torch.equal(a, b) for a, b in zip(generator, lab(app).model.generator.parameters()))
    assert (lab(app).d_updates, lab(app).g_updates) == (1, 0)

    app.button(key="gl_step_g").click().run()
    moved = chart(app, "generated")
    assert moved["generated"] != after["generated"]
    assert moved["surface"] == after["surface"]


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the runner did not get there in time"
        time.sleep(0.05)


def test_run_trains_in_the_background_until_paused():
    app = app_on(PAGE)
    app.button(key="gl_run").click().run()  # starts the runner's thread; the page only draws its frames
    assert not app.exception
    runner = app.session_state["gl_runner"]
    assert runner.running and app.button(key="gl_step").disabled
    wait_for(lambda: lab(app).step > 0)
    app.button(key="gl_pause").click().run()
    assert not runner.running
    paused_at = lab(app).step
    assert any(f"Paused at step {paused_at:,}." in i.value for i in app.info)  # the step it stopped at...
    assert any(c.value.startswith(f"Step {paused_at:,} (") for c in app.caption)  # ...is the step drawn
    time.sleep(1.0)
    app.run()
    assert lab(app).step == paused_at
    app.button(key="gl_reset").click().run()
    assert lab(app).step == 0 and lab(app).history == []


def test_a_run_pauses_itself_after_its_share_of_training():
    from genmodels.lessons.gan_lab_runner import LabRunner

    lab_ = GANLab(LabConfig())
    runner = LabRunner(lab_, tick_seconds=0.05, max_run_seconds=0.3)
    runner.start(5)
    wait_for(lambda: not runner.running)
    app = app_on(PAGE, gl_lab=lab_, gl_runner=runner)
    assert not app.exception
    assert app.button(key="gl_run")  # Run again, not Pause
    assert any(f"Paused by itself after 0.3 s of training, at step {lab_.step:,}" in i.value for i in app.info)


def test_out_of_range_settings_in_session_state_are_reported_and_replaced():
    app = app_on(PAGE, gl_g_hidden=5000, gl_lr_d=3e-3, gl_dataset="toy-cube", gl_d_steps=0)
    warnings = " ".join(w.value for w in app.warning)
    assert "G width must be a whole number from 2 to 512; got 5000, so 512 is used." in warnings
    assert "D learning rate 0.003 is not on the ladder" in warnings
    assert "Dataset must be one of toy-ring, toy-grid, toy-moons, toy-spiral; got 'toy-cube'" in warnings
    assert "D steps per G step must be a whole number from 1 to 10; got 0, so 1 is used." in warnings
    assert app.number_input(key="gl_g_hidden").value == 512
    assert app.selectbox(key="gl_lr_d").value == 2e-3
    assert app.selectbox(key="gl_dataset").value == "toy-ring"


def test_learning_rates_apply_to_the_running_model_and_other_settings_start_a_new_one():
    app = app_on(PAGE)
    app.button(key="gl_step").click().run()
    app.button(key="gl_step").click().run()
    model = lab(app).model
    app.number_input(key="gl_d_steps").set_value(3)
    app.selectbox(key="gl_lr_g").select(5e-4)
    submit(app)
    assert not app.exception
    assert lab(app).model is model and lab(app).step == 2
    assert lab(app).config.d_steps == 3 and lab(app).optimizers["generator"].param_groups[0]["lr"] == 5e-4
    assert any("trains on from where it is" in i.value for i in app.info)

    app.selectbox(key="gl_dataset").select("toy-spiral")
    submit(app)
    assert lab(app).step == 0 and lab(app).config.dataset == "toy-spiral"
    assert lab(app).config.d_steps == 3  # the rest of the form carries over
    assert "Data reached (recall)" in metrics(app) and "Modes covered" not in metrics(app)


def test_picking_a_preset_starts_it_and_fills_the_form():
    app = app_on(PAGE)
    app.button(key="gl_step").click().run()
    app.selectbox(key="gl_preset").select("strong_d").run()
    assert not app.exception
    assert lab(app).step == 0 and lab(app).config == preset_config("strong_d")
    assert app.number_input(key="gl_d_steps").value == 5
    assert app.selectbox(key="gl_lr_g").value == 1e-4
    assert any("D paints purple" in m.value for m in app.markdown)


def test_the_layers_can_be_switched_off():
    app = app_on(PAGE, gl_layers=["generated"])
    assert [layer["description"] for layer in spec(app, "generated")["layer"]] == ["generated"]


def test_a_diverged_model_says_what_to_do():
    broken = GANLab(LabConfig())
    with torch.no_grad():
        next(broken.model.discriminator.parameters()).fill_(float("nan"))
    app = app_on(PAGE, gl_lab=broken)
    app.button(key="gl_step").click().run()
    assert not app.exception
    assert any("diverged" in e.value and "Lower the learning rates" in e.value for e in app.error)
