"""The Models page in AppTest: the table, session models, uploads good and bad, rename, delete."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from genmodels import checkpoints

from .conftest import app_on

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.stem for p in (ROOT / "checkpoints").glob("*.safetensors"))


def open_page(**session) -> AppTest:
    return app_on("pages/models.py", **session)


def listed(app: AppTest) -> list[str]:
    """The "model" column of the page's table."""
    return list(app.dataframe[0].value["model"])


def test_the_table_lists_every_shipped_model():
    app = open_page()
    assert listed(app) == [f"{name} (shipped)" for name in SHIPPED]


def test_a_good_upload_is_listed_and_a_bad_one_changes_nothing():
    app = open_page()
    before = listed(app)
    app.file_uploader(key="models_upload").upload("evil.safetensors", b"\x80\x04garbage pickle", "application/x").run()
    assert not app.exception
    assert any("evil.safetensors was refused" in e.value.replace("\\", "") and "pickle" in e.value for e in app.error)
    assert listed(app) == before and not app.session_state["genlab_models"]
    app.selectbox(key="models_pick").select_index(1).run()  # any later action: the refusal is not said again
    assert not app.error

    good = (ROOT / "checkpoints" / "vae-sprites-2d.safetensors").read_bytes()
    app.file_uploader(key="models_upload").upload("mine.safetensors", good, "application/octet-stream").run()
    assert not app.exception
    assert listed(app)[0] == "vae-sprites-2d (this session)"  # the session's own models come first


def test_session_models_can_be_renamed_and_deleted(sprites_small):
    from genmodels import registry
    from genmodels.ui.state import SessionModel

    spec = registry.family("vae")
    model = registry.build_model(spec, registry.model_config(spec, sprites_small, hidden=(16,), latent_dim=2))
    info = checkpoints.make_info("vae", model, name="trained", dataset="sprites")
    app = open_page(genlab_models={"trained": SessionModel(model=model, info=info)})
    assert "trained (this session)" in listed(app)
    app.selectbox(key="models_pick").select("trained (this session)").run()
    app.text_input(key="models_rename_to_trained").input("renamed").run()
    app.button(key="models_rename").click().run()
    assert "renamed (this session)" in listed(app) and "trained (this session)" not in listed(app)
    assert app.selectbox(key="models_pick").value == "renamed (this session)"  # the picker follows the rename
    assert app.session_state["genlab_models"]["renamed"].info.name == "renamed"  # so do downloads and reproduce
    app.button(key="models_delete").click().run()
    assert not any("this session" in name for name in listed(app))


def test_every_shipped_checkpoint_round_trips_through_download_and_upload():
    for name in SHIPPED:
        loaded = checkpoints.load_checkpoint(ROOT / "checkpoints" / f"{name}.safetensors")
        again = checkpoints.read_checkpoint(checkpoints.checkpoint_bytes(loaded.model, loaded.info))
        assert again.info.model_config == loaded.info.model_config and again.info.metrics == loaded.info.metrics
        for a, b in zip(loaded.model.state_dict().values(), again.model.state_dict().values()):
            assert a.equal(b)


def test_a_model_name_is_shown_as_typed_never_as_markdown_or_html(sprites_small):
    import json

    from genmodels import registry
    from genmodels.ui.state import SessionModel

    name = "**bold** [link](http://example.com) <b>x</b>"
    spec = registry.family("vae")
    model = registry.build_model(spec, registry.model_config(spec, sprites_small, hidden=(16,), latent_dim=2))
    info = checkpoints.make_info("vae", model, name=name, dataset="sprites",
                                 history=[{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.0}])
    app = open_page(genlab_models={name: SessionModel(model=model, info=info)})
    app.multiselect(key="models_compare").select(f"{name} (this session)").run()
    assert not app.exception
    captions = [str(i.proto) for i in app.get("image")]
    assert any("\\\\*\\\\*bold\\\\*\\\\*" in caption for caption in captions), captions  # Markdown escaped
    legend = [trace["name"] for chart in app.get("plotly_chart") for trace in json.loads(chart.proto.spec)["data"]]
    assert f"{name.replace('<', '&lt;').replace('>', '&gt;')} (this session)" in legend  # HTML shown as typed
