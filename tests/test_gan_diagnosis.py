"""GAN diagnostics: nearest training images, sample variety, and the three plain-words checks on
histories with known answers."""

import math

import torch

from genmodels.lessons import gan_diagnosis


def test_nearest_training_images_finds_copies_across_chunks():
    train = torch.rand(50, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    queries = torch.stack([train[3], train[41], train[17] + 0.1])
    nearest = gan_diagnosis.nearest_training_images(queries, train, chunk=16)
    assert nearest.indices.tolist() == [3, 41, 17]
    assert nearest.distances[:2].tolist() == [0.0, 0.0] or torch.allclose(nearest.distances[:2], torch.zeros(2),
                                                                           atol=1e-3)
    assert math.isclose(nearest.distances[2].item(), 0.1 * 4, rel_tol=1e-3)  # 16 pixels, each 0.1 off


def test_variety_is_zero_for_copies_and_positive_otherwise():
    image = torch.rand(1, 1, 4, 4)
    assert gan_diagnosis.variety(image.repeat(8, 1, 1, 1)) == 0.0
    assert gan_diagnosis.variety(torch.rand(8, 1, 4, 4)) > 0.5


def history(**curves):
    length = len(next(iter(curves.values())))
    return [{"step": 10 * (i + 1), **{name: values[i] for name, values in curves.items()}} for i in range(length)]


def test_discriminator_wins_when_it_tells_real_from_fake():
    n = 40
    won = gan_diagnosis.discriminator_wins(history(d_real=[0.97] * n, d_fake=[0.02] * n))
    balanced = gan_diagnosis.discriminator_wins(history(d_real=[0.6] * n, d_fake=[0.4] * n))
    early = gan_diagnosis.discriminator_wins(history(d_real=[0.99] * 3, d_fake=[0.01] * 3))
    assert won.detected and "0.97" in won.evidence and won.advice
    assert not balanced.detected and not early.detected


def test_mode_collapse_compares_sample_variety_with_real_variety():
    rows = gan_diagnosis.MIN_ROWS
    assert gan_diagnosis.mode_collapse(1.0, 5.0, rows).detected
    assert not gan_diagnosis.mode_collapse(4.0, 5.0, rows).detected
    assert not gan_diagnosis.mode_collapse(None, 5.0, rows).detected


def test_mode_collapse_waits_while_an_untrained_generator_still_draws_alike_blobs():
    early = gan_diagnosis.mode_collapse(1.0, 5.0, gan_diagnosis.MIN_ROWS - 1)
    assert not early.detected and early.evidence == "too early to tell"


def test_swings_counts_large_reversals_only():
    wave = [math.sin(2 * math.pi * t / 20) for t in range(100)]  # five periods: ten reversals
    assert gan_diagnosis.swings(wave) in (9, 10)
    wiggle = [t / 100 + 0.01 * (-1) ** t for t in range(100)]  # a rising line with tiny wiggles
    assert gan_diagnosis.swings(wiggle) == 0


def test_oscillation_needs_big_repeated_swings_of_the_g_loss():
    steps = range(200)
    swinging = [2 + 1.5 * math.sin(2 * math.pi * t / 25) for t in steps]
    settling = [2 + math.exp(-t / 30) + 0.02 * (-1) ** t for t in steps]
    assert gan_diagnosis.oscillation(history(g_loss=swinging)).detected
    assert not gan_diagnosis.oscillation(history(g_loss=settling)).detected
    assert [f.name for f in gan_diagnosis.diagnose_images(history(g_loss=settling))] == [
        "discriminator wins", "mode collapse", "oscillation"]
