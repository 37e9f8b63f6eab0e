"""The GAN studio in AppTest: the shipped DCGAN's samples, interpolation, nearest training images and
sample quality; a finished run's timeline of snapshots; presets loading their settings."""

import dataclasses

import pytest
from streamlit.testing.v1 import AppTest

from genmodels import registry
from genmodels.configs import TrainConfig
from genmodels.serving.jobs import TrainingJob

from .conftest import app_on, tiny_config

PAGE = "pages/gan_studio.py"


def captions(app: AppTest) -> list[str]:
    return [str(image.proto) for image in app.get("image")]


def sample_grid(app: AppTest) -> str:
    return next(c for c in captions(app) if "samples from noise seed" in c)


def test_opens_on_the_shipped_dcgan_with_samples_interpolation_and_nearest_images():
    app = app_on(PAGE)
    assert app.selectbox(key="gan_model").value == "dcgan-fashion (shipped)"
    before = sample_grid(app)
    app.number_input(key="gan_seed").set_value(7).run()
    assert not app.exception
    assert sample_grid(app) != before and "noise seed 7" in sample_grid(app)
    assert any("for t from 0 to 1 in 10 steps" in c for c in captions(app))
    assert any("the nearest training image" in c for c in captions(app))
    assert any("from its nearest training image" in m.value for m in app.markdown)


def test_sample_quality_is_measured_against_the_floor():
    app = app_on(PAGE)
    assert any("Frechet distance" in m.value and "floor" in m.value for m in app.markdown)  # stored with the model
    app.button(key="gan_measure").click().run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert float(metrics["Frechet distance"]) > float(metrics["Floor (real vs real)"]) > 0
    assert " of 10" in metrics["Classes in use"]


@pytest.fixture(scope="module")
def finished_gan_job(sprites_small):
    spec = registry.family("dcgan")
    model = registry.build_model(spec, tiny_config("dcgan", sprites_small))
    config = TrainConfig(epochs=1, max_steps=12, batch_size=32, lr=2e-4, log_every=2, snapshot_every=3,
                         snapshot_count=8)
    job = TrainingJob(spec, model, sprites_small, config, name="tiny-dcgan").start()
    assert job.wait(120) and job.view().state == "finished"
    return job


def test_a_runs_timeline_slider_selects_its_stored_sample_grids(finished_gan_job):
    app = app_on(PAGE, genlab_job=finished_gan_job)
    snapshots = finished_gan_job.view().snapshots
    assert len(snapshots) >= 3
    timeline = app.slider(key="gan_timeline")
    assert timeline.value == len(snapshots)  # follows the newest
    assert any(f"fixed noise, step {snapshots[-1].step}" in c for c in captions(app))
    timeline.set_value(1).run()
    assert not app.exception
    assert any(f"fixed noise, step {snapshots[0].step}" in c for c in captions(app))
    assert len(app.get("plotly_chart")) >= 2  # the losses and D's outputs
    assert "tiny-dcgan (this session)" in app.selectbox(key="gan_model").options  # kept when it finished


class Replayed:
    """A finished run seen while it ran: its view shows only the first ``shown`` snapshots."""

    def __init__(self, job: TrainingJob):
        self.job, self.shown = job, 1

    def __getattr__(self, name):
        return getattr(self.job, name)

    def view(self):
        view = self.job.view()
        return dataclasses.replace(view, snapshots=view.snapshots[:self.shown])


def test_the_timeline_follows_each_new_run_from_its_start(finished_gan_job, sprites_small):
    first = Replayed(finished_gan_job)
    app = app_on(PAGE, genlab_job=first)
    for shown in (2, 3):
        first.shown = shown
        app.run()
    assert app.slider(key="gan_timeline").value == 3
    # The session's next run: its snapshots arrive one by one, and the timeline keeps up with them.
    spec = registry.family("dcgan")
    config = TrainConfig(epochs=1, max_steps=9, batch_size=32, lr=2e-4, log_every=3, snapshot_every=3,
                         snapshot_count=8)
    second = TrainingJob(spec, registry.build_model(spec, tiny_config("dcgan", sprites_small)), sprites_small,
                         config, name="second").start()
    assert second.wait(120)
    app.session_state["genlab_job"] = replayed = Replayed(second)
    for shown in (1, 2, 3):
        replayed.shown = shown
        app.run()
        assert not app.exception
        assert any(f"fixed noise, step {second.view().snapshots[shown - 1].step}" in c for c in captions(app))


def test_a_failure_preset_loads_its_settings_and_starts_a_run():
    app = app_on(PAGE)
    app.selectbox(key="gan_preset").select("Failure: unbalanced learning rates").run()
    preset = list(app.selectbox(key="gan_preset").options).index("Failure: unbalanced learning rates")
    assert app.select_slider(key=f"gan_lr_g_{preset}").value == 2e-5
    assert app.select_slider(key=f"gan_lr_d_{preset}").value == 2e-3
    app.number_input(key=f"gan_epochs_{preset}").set_value(1)
    app.button(key="gan_start").click().run()
    assert not app.exception
    job = app.session_state["genlab_job"]
    try:
        assert job.config.lr == 2e-5 and job.config.lr_discriminator == 2e-3 and job.spec.name == "dcgan"
        app.button(key="gan_start").click().run()
        assert any("already training" in w.value for w in app.warning)
    finally:
        job.stop()
        assert job.wait(60)


def test_the_timeline_follows_the_newest_snapshot_after_visiting_another_page(finished_gan_job):
    """Issue 17, finding 6: Streamlit forgets a widget's state on a page it does not draw, and the
    timeline came back at snapshot 1 and stayed there for the rest of the run."""
    assert len(finished_gan_job.view().snapshots) >= 4
    run = Replayed(finished_gan_job)
    run.shown = 2
    app = app_on(PAGE, genlab_job=run)
    assert app.slider(key="gan_timeline").value == 2
    app.switch_page("pages/models.py").run()
    run.shown = 3  # the run went on meanwhile
    app.switch_page(PAGE).run()
    assert not app.exception
    assert app.slider(key="gan_timeline").value == 3
    run.shown = 4
    app.run()
    assert app.slider(key="gan_timeline").value == 4  # and keeps following


def test_a_timeline_the_student_moved_stays_where_it_was_put(finished_gan_job):
    run = Replayed(finished_gan_job)
    run.shown = 2
    app = app_on(PAGE, genlab_job=run)
    app.slider(key="gan_timeline").set_value(1).run()
    app.switch_page("pages/models.py").run()
    run.shown = 3
    app.switch_page(PAGE).run()
    assert app.slider(key="gan_timeline").value == 1
    app.slider(key="gan_timeline").set_value(3).run()  # moved to the end: follows the run again
    run.shown = 4
    app.run()
    assert app.slider(key="gan_timeline").value == 4
