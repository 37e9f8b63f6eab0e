"""The VAE latent explorer in AppTest: opens on the shipped 2-D model, sliders and buttons move the
decoded image, a session VAE and a >2-D VAE can be picked, a bad upload is refused."""

import json

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


def test_a_model_with_more_latent_dims_opens_on_informative_dimensions_and_names_the_collapsed_ones():
    app = open_page()
    app.selectbox(key="vae_model").select("vae-fashion-20d (shipped)").run()
    assert not app.exception
    dim_u, dim_v = app.selectbox(key="vae_dim_u").value, app.selectbox(key="vae_dim_v").value
    collapsed = next(i.value for i in app.info if "collapsed (posterior collapse)" in i.value)
    listed = {int(d) for d in collapsed.rsplit("Dimensions: ", 1)[1].rstrip(".").split(", ")}
    assert 0 in listed and dim_u not in listed and dim_v not in listed  # dimension 0 is collapsed in this model
    assert not any("is collapsed" in w.value for w in app.warning)
    app.selectbox(key="vae_dim_u").select(0).run()
    assert any("Dimension 0 is collapsed" in w.value for w in app.warning)
    app.selectbox(key="vae_dim_v").select(5).run()
    app.slider(key="vae_z1").set_value(1.0).run()
    assert not app.exception
    app.radio(key="vae_plane_mode").set_value("random").run()
    assert not app.exception


def test_the_point_stays_put_through_the_pick_two_different_dimensions_warning():
    """Issue 17, finding 10: after the warning the point jumped to (-4, -4)."""
    app = open_page()
    app.selectbox(key="vae_model").select("vae-fashion-20d (shipped)").run()
    app.slider(key="vae_z1").set_value(1.5).run()
    app.slider(key="vae_z2").set_value(-0.5).run()
    app.selectbox(key="vae_dim_v").select(app.selectbox(key="vae_dim_u").value).run()
    assert any("Pick two different dimensions" in w.value for w in app.warning)
    app.selectbox(key="vae_dim_v").select(5).run()
    assert not app.exception
    assert (app.slider(key="vae_z1").value, app.slider(key="vae_z2").value) == (1.5, -0.5)
    assert "(1.50, -0.50)" in decoded_image(app)


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
    assert any("holes farthest from every test code" in caption for caption in captions)
    assert any(m.value.startswith("Measured: the autoencoder's codes leave more of their region empty")
               for m in app.markdown)  # what the shipped pair measures (tests/test_vae_claims.py pins it)


def test_two_uploaded_images_land_on_the_map_and_can_be_interpolated():
    app = open_page()
    app.file_uploader(key="vae_upload").set_value([("shirt.png", garment_png(0), "image/png"),
                                                   ("dress.png", garment_png(60), "image/png")]).run()
    assert not app.exception
    app.radio(key="vae_interp_source").set_value("yours").run()
    assert not app.exception
    assert any("straight line between the two codes" in str(image.proto) for image in app.get("image"))
    # Each on the map with its own number, marker and name (they were two identical black diamonds).
    figure = json.loads(next(c for c in app.get("plotly_chart") if "your image" in c.proto.spec).proto.spec)
    mine = [t for t in figure["data"] if t.get("name", "").startswith("your image")]
    assert [t["name"] for t in mine] == ["your image 1: shirt.png", "your image 2: dress.png"]
    assert mine[0]["marker"]["symbol"] != mine[1]["marker"]["symbol"] and [t["text"] for t in mine] == [["1"], ["2"]]


def test_the_map_colours_classes_as_the_still_pictures_and_names_both_prior_circles():
    from genmodels.ui.vae_views import CLASS_COLOURS

    app = open_page()
    figure = json.loads(next(c for c in app.get("plotly_chart") if "current z" in c.proto.spec).proto.spec)
    classes = {t["name"]: t["marker"]["color"] for t in figure["data"] if t.get("mode") == "markers"
               and t.get("showlegend", True) and t["name"] != "current z"}
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    assert classes == dict(zip(names, CLASS_COLOURS))  # Ankle boot: the same yellow as in the pictures
    circles = [t["name"] for t in figure["data"] if t.get("mode") == "lines"]
    assert circles == ["prior N(0, I): 1 sigma circle", "prior N(0, I): 2 sigma circle"]
    assert all(t.get("showlegend", True) for t in figure["data"] if t.get("mode") == "lines")
