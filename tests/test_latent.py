"""Latent-space helpers: planes, grids, interpolation."""

import pytest
import torch

from genmodels import registry
from genmodels.lessons import latent


@pytest.fixture
def vae(sprites_small):
    spec = registry.family("vae")
    return registry.build_model(spec, registry.model_config(spec, sprites_small, hidden=(32,), latent_dim=5)).eval()


def test_axis_plane_varies_two_dims_and_holds_the_rest():
    origin = torch.arange(5.0)
    plane = latent.axis_plane(5, 1, 3, origin=origin)
    assert plane.point(7.0, -2.0).tolist() == [0.0, 7.0, 2.0, -2.0, 4.0]
    assert plane.project(plane.point(0.5, 0.25)[None]).tolist() == [[0.5, 0.25]]
    with pytest.raises(ValueError, match="two different dimensions"):
        latent.axis_plane(5, 2, 2)


def test_random_plane_is_orthonormal():
    plane = latent.random_plane(16, seed=3)
    assert plane.axis_u.norm().item() == pytest.approx(1) and plane.axis_v.norm().item() == pytest.approx(1)
    assert (plane.axis_u @ plane.axis_v).item() == pytest.approx(0, abs=1e-6)


def test_grid_has_n_squared_images_with_the_top_row_at_high_v(vae):
    plane = latent.axis_plane(5)
    images = latent.latent_grid(vae, plane, n=4, span=2.0)
    assert images.shape == (16, 1, 28, 28)
    top_left = latent.decode(vae, plane.point(-2.0, 2.0)[None])[0]
    bottom_right = latent.decode(vae, plane.point(2.0, -2.0)[None])[0]
    assert torch.allclose(images[0], top_left, atol=1e-6) and torch.allclose(images[-1], bottom_right, atol=1e-6)


def test_quantile_spacing_matches_the_keras_plot():
    coords = latent.grid_coordinates(3, span=99, spacing="quantile")
    assert coords.tolist() == pytest.approx([-1.6449, 0.0, 1.6449], abs=1e-3)


def test_interpolation_endpoints_are_the_decodes_of_the_two_codes(vae, sprites_small):
    z = latent.encode_means(vae, sprites_small.test_x[:2])
    strip = latent.interpolate(vae, z[0], z[1], steps=7)
    assert strip.shape == (7, 1, 28, 28)
    ends = latent.decode(vae, z)
    assert torch.allclose(strip[0], ends[0], atol=1e-6) and torch.allclose(strip[-1], ends[1], atol=1e-6)
