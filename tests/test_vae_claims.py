"""What the VAE explorer says in words, checked on the shipped models (issue 17: every claim a page
makes is computed on the spot or pinned here)."""

from pathlib import Path

import pytest
import torch

from genmodels.checkpoints import load_checkpoint
from genmodels.data import is_available, load_dataset
from genmodels.lessons import latent, vae_maps

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"

pytestmark = pytest.mark.skipif(not is_available("fashion-mnist"), reason="Fashion-MNIST is not installed")


@pytest.fixture(scope="module")
def fashion():
    return load_dataset("fashion-mnist")


def shipped(name: str):
    return load_checkpoint(CHECKPOINTS / f"{name}.safetensors").model.eval()


@pytest.fixture(scope="module")
def vae_2d(fashion):
    model = shipped("vae-fashion-2d")
    return model, latent.encode_means(model, fashion.test_x)


def test_it_opens_on_a_clear_picture_not_the_faint_origin(vae_2d):
    """Issue 17 (10): z = (0, 0) decodes to a faint smear; the page opens on the code of a test
    image chosen for the contrast of its decode."""
    model, codes = vae_2d
    start = vae_maps.start_index(model, codes)
    opening = latent.decode(model, codes[start][None])
    origin = latent.decode(model, torch.zeros(1, 2))
    assert opening.std() > 1.5 * origin.std()
    assert codes[start].abs().max() < 4  # on the sliders' range


def test_the_20d_vae_has_collapsed_dimensions_and_the_default_plane_avoids_them(fashion):
    """The page names the collapsed dimensions of vae-fashion-20d; the old default plane (0, 1) held one."""
    model = shipped("vae-fashion-20d")
    codes = latent.encode_means(model, fashion.test_x)
    collapsed = vae_maps.collapsed_dimensions(codes)
    assert 0 in collapsed and 3 <= len(collapsed) < 20
    first, second = vae_maps.informative_pair(codes)
    assert first != second and not {first, second} & set(collapsed)
    # Collapsed: the decoder ignores the dimension. Moving along it changes the picture far less.
    base = codes[0].clone()
    moved = {}
    for dim in (collapsed[0], first):
        far = base.clone()
        far[dim] += 2.0
        moved[dim] = (latent.decode(model, far[None]) - latent.decode(model, base[None])).abs().mean().item()
    assert moved[collapsed[0]] < 0.2 * moved[first]


def test_the_vae_has_fewer_holes_than_the_plain_autoencoder_and_they_decode_closer_to_real_images(fashion, vae_2d):
    """The words beside the side-by-side maps and "nearby codes decode to similar images, also
    between the codes of the test images": measured on the shipped pair (the page measures
    whichever pair it shows, with the same function)."""
    model, codes = vae_2d
    autoencoder = shipped("ae-fashion-2d")
    reference = fashion.train_x[:10_000]
    vae = vae_maps.holes(model, codes, reference)
    ae = vae_maps.holes(autoencoder, latent.encode_means(autoencoder, fashion.test_x), reference)
    assert ae.share > vae.share and ae.penalty > vae.penalty
    assert vae.penalty < 0.2  # the VAE's holes decode almost as close to real garments as its codes do
    assert len(vae.examples) == len(ae.examples) == 8


def test_the_kl_term_crowds_the_codes_around_the_origin_and_the_autoencoders_spread_out(fashion, vae_2d):
    """"the codes of the training images overlap and crowd the region around the origin. A plain
    autoencoder has no such pull: its codes can sit anywhere": nearly all the VAE's test codes lie
    within 3 sigma of the prior (a standard normal: 98.9%), the autoencoder's far beyond."""
    _model, codes = vae_2d
    autoencoder = shipped("ae-fashion-2d")
    ae_codes = latent.encode_means(autoencoder, fashion.test_x)
    assert (codes.norm(dim=1) < 3).float().mean() > 0.9
    assert ae_codes.norm(dim=1).median() > 3 * codes.norm(dim=1).median()
