"""Style transfer on CUDA (skipped without a GPU; ``make gpu`` runs it): the run stays on the GPU,
gives the same kind of result as on the CPU, and the same seed gives the same random network."""

import pytest
import torch

from genmodels.lessons.pictures import bundled
from genmodels.lessons.style_transfer import StyleConfig, run
from genmodels.models.features import build_network

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (make gpu)")


def test_texture_synthesis_runs_on_the_gpu_and_lowers_the_style_loss():
    network = build_network("random", seed=0)
    config = StyleConfig(content_weight=0.0, start="noise", size=128, steps=100, snapshot_every=0, device="cuda")
    finished = run(config, bundled("brick"), bundled("brick"), network)
    assert next(network.parameters()).device.type == "cuda"
    assert finished.image.device.type == "cpu" and finished.image.shape == (3, 128, 128)
    assert finished.end.style <= 0.1 * finished.start.style


def test_the_gpu_and_the_cpu_see_the_same_gram_matrices():
    from genmodels.lessons.style_transfer import gram_picture

    picture = bundled("coffee")[:, :128, :128]
    on_cpu = gram_picture(build_network("random", seed=1), picture, "scale2")
    on_gpu = gram_picture(build_network("random", seed=1).cuda(), picture, "scale2")
    assert torch.allclose(on_cpu, on_gpu, rtol=1e-3, atol=1e-5)
