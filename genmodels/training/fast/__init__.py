"""CPU speed paths, kept apart from the steps students read (training/steps.py).

Each path trains a model exactly as its family's plain step would (tests/test_vae_by_hand.py pins
the gradients and 20 Adam steps to autograd's), and the loop chooses it once per run, never
inside a step: ``step_for`` looks at the model and the device before the first step.
"""

from __future__ import annotations

import torch
from torch import nn

from genmodels.training.fast import vae_by_hand
from genmodels.training.steps import vae_step

# a plain step -> the module of its fast path: ``applies(model, device)`` and ``step(model, x, y, ctx)``
FAST_PATHS = {vae_step: vae_by_hand}


def step_for(plain_step, model: nn.Module, device: torch.device):
    """The fast step for this run of ``model``, or None when the family's plain step must train it
    (no fast path, another device, a compiled or hooked model...)."""
    path = FAST_PATHS.get(plain_step)
    return path.step if path is not None and path.applies(model, device) else None
