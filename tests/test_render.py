"""Render helpers that hold logic: smoothing and folding snapshot rows."""

import torch

from genmodels.metrics import smooth
from genmodels.ui.render import fold_rows


def test_smoothing_is_debiased_and_follows_a_constant():
    assert smooth([5.0, 5.0, 5.0]) == [5.0, 5.0, 5.0]
    values = smooth([10.0, 0.0])
    assert values[0] == 10.0 and 0 < values[1] < 10


def test_fold_rows_keeps_each_input_above_its_reconstruction():
    images = torch.arange(2 * 16).float().view(2, 16, 1, 1, 1)  # row 0: inputs 0-15, row 1: recons 16-31
    folded = fold_rows(images, width=8)
    assert folded.shape == (4, 8, 1, 1, 1)
    assert folded[:, 0].flatten().tolist() == [0.0, 16.0, 8.0, 24.0]
