"""The VAE latent explorer in AppTest: opens on the shipped 2-D model, sliders and buttons move the
decoded image, a session VAE and a >2-D VAE can be picked, a bad upload is refused."""


import pytest
from streamlit.testing.v1 import AppTest

from .conftest import app_on, garment_png

PAGE = "pages/vae_explorer.py"


def open_page(**session) -> AppTest:
    return app_on("pages/vae_explorer.py", **session)


def decoded_image(app: AppTest) -> str:
    """The big decoded image: identified by its caption, compared by its content URL."""
    image = next(i for i in app.get("image") if "decoded from" in str(i.proto))
    return str(image.proto)


def test_opens_on_the_shipped_2d_fashion_vae_and_sliders_change_the_image():
    app = open_page()
    assert app.selectbox(key="vae_model").value.startswith("vae-fashion-2d")
    before = decoded_image(app)
    app.slider(key="vae_z1").set_value(2.0).run()
    after_z1 = decoded_image(app)
    assert after_z1 != before
    app.slider(key="vae_z2").set_value(-1.5).run()
    assert decoded_image(app) != after_z1
    app.button(key="vae_z1_plus").click().run()
    assert app.slider(key="vae_z1").value == pytest.approx(2.1)
    assert not app.exception


def test_a_model_with_more_latent_dims_shows_the_dimension_pickers():
    app = open_page()
    app.selectbox(key="vae_model").select("vae-fashion-20d (shipped)").run()
    assert not app.exception
    assert app.selectbox(key="vae_dim_u").value == 0 and app.selectbox(key="vae_dim_v").value == 1
    app.selectbox(key="vae_dim_v").select(5).run()
    app.slider(key="vae_z1").set_value(1.0).run()
    assert not app.exception
    app.radio(key="vae_plane_mode").set_value("a random plane").run()
    assert not app.exception


def test_a_session_trained_vae_can_be_picked(sprites_small):
    from genmodels import checkpoints, registry
    from genmodels.ui.state import SessionModel

    spec = registry.family("vae")
    model = registry.build_model(spec, registry.model_config(spec, sprites_small, hidden=(32,), latent_dim=2)).eval()
    info = checkpoints.make_info("vae", model, name="mine", dataset="sprites")
    app = open_page(genlab_models={"mine": SessionModel(model=model, info=info)})
    app.selectbox(key="vae_model").select("mine (this session)").run()
    assert not app.exception
    assert any("mine: MLP VAE with a 2-D latent space" in c.value for c in app.caption)


def test_an_invalid_upload_shows_an_error():
    app = open_page()
    app.file_uploader(key="vae_upload").upload("cat.png", b"<html>not really a png</html>", "image/png").run()
    assert not app.exception
    assert any("cat.png: not an image" in e.value for e in app.error)


def test_the_shipped_2d_autoencoder_is_shown_beside_the_vae():
    app = open_page()
    captions = [str(image.proto) for image in app.get("image")]
    assert any("autoencoder: decodes of" in caption for caption in captions)
    assert any("VAE: decodes of" in caption for caption in captions)


def test_two_uploaded_images_land_on_the_map_and_can_be_interpolated():
    app = open_page()
    app.file_uploader(key="vae_upload").set_value([("shirt.png", garment_png(0), "image/png"),
                                                   ("dress.png", garment_png(60), "image/png")]).run()
    assert not app.exception
    app.radio(key="vae_interp_source").set_value("your two images").run()
    assert not app.exception
    assert any("straight line between the two codes" in str(image.proto) for image in app.get("image"))
