"""Render helpers that hold logic: smoothing, folding snapshot rows, the job status line."""

import torch

from genmodels.metrics.curves import smooth
from genmodels.serving.jobs import FAILED, QUEUED, STOPPED, JobView
from genmodels.ui.render import fold_rows, job_status_line


def test_smoothing_is_debiased_and_follows_a_constant():
    assert smooth([5.0, 5.0, 5.0]) == [5.0, 5.0, 5.0]
    values = smooth([10.0, 0.0])
    assert values[0] == 10.0 and 0 < values[1] < 10


def test_fold_rows_keeps_each_input_above_its_reconstruction():
    images = torch.arange(2 * 16).float().view(2, 16, 1, 1, 1)  # row 0: inputs 0-15, row 1: recons 16-31
    folded = fold_rows(images, width=8)
    assert folded.shape == (4, 8, 1, 1, 1)
    assert folded[:, 0].flatten().tolist() == [0.0, 16.0, 8.0, 24.0]


def view(state: str, message: str, queue_position: int = 0) -> JobView:
    return JobView(id=1, name="run", family="ae", dataset="sprites", state=state, message=message, device="cpu",
                   step=56, total_steps=100, epoch=1, images_per_second=0.0, elapsed=1.0,
                   queue_position=queue_position)


def test_the_job_line_says_each_state_once_in_plain_words():
    assert job_status_line(view(STOPPED, "stopped at step 56")) == "**run**: stopped at step 56"
    assert job_status_line(view(FAILED, "out of memory")) == "**run**: failed: out of memory"
    assert job_status_line(view(QUEUED, "", queue_position=1)).startswith("**run**: queued, 1 job ahead")
