"""An exponential moving average of a model's weights, the weights a diffusion model samples with.

Ho et al. (2020) sample from an average of the weights over training, not from the last step's:
with a constant learning rate the weights keep jittering around a good point, and for a model
that is applied 50 times in a row (one sampling run) each jitter shows as a shift in brightness
or shape. The average sits near the centre of the jitter.

    avg_k = d_k avg_{k-1} + (1 - d_k) w_k,   d_k = min(decay, (1 + k) / (10 + k))

The warm-up d_k (as in TensorFlow's ExponentialMovingAverage with num_updates) keeps a short run's
average from clinging to the random initial weights: with decay 0.999 and no warm-up, 74% of a
300-step run's average would still be the initialisation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


class WeightAverage:
    """The running average of ``model``'s parameters (buffers, e.g. batch-norm statistics, are not
    averaged: the model's own are used)."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.updates = 0
        self.average = [p.detach().clone() for p in model.parameters()]

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Fold the model's current weights in (call after each optimizer step)."""
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for average, weight in zip(self.average, model.parameters()):
            average.lerp_(weight.detach(), 1 - d)  # avg + (1 - d) (w - avg) = d avg + (1 - d) w

    @torch.no_grad()
    def copy_to(self, model: torch.nn.Module) -> None:
        """Put the average into the model (at the end of training: what gets saved)."""
        for average, weight in zip(self.average, model.parameters()):
            weight.copy_(average)

    @contextlib.contextmanager
    def applied(self, model: torch.nn.Module) -> Iterator[None]:
        """The model holds the average inside the block (for evaluations and snapshots during
        training) and its own weights again after it, so training goes on where it was."""
        own = [p.detach().clone() for p in model.parameters()]
        self.copy_to(model)
        try:
            yield
        finally:
            with torch.no_grad():
                for saved, weight in zip(own, model.parameters()):
                    weight.copy_(saved)
