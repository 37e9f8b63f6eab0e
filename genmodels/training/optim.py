"""The optimiser every family trains with."""

from __future__ import annotations

import torch


def adam(parameters, lr: float, device: torch.device, betas=(0.9, 0.999)) -> torch.optim.Adam:
    """Adam with torch's fused kernel (one kernel for all parameters) where torch has one (cpu,
    cuda); foreach Adam elsewhere (mps). BENCHMARKS.md compares it with a subclass that called the
    private fused kernel directly: within a few per cent, so the plain public call stays."""
    if device.type in ("cpu", "cuda"):
        return torch.optim.Adam(parameters, lr=lr, betas=betas, fused=True)
    return torch.optim.Adam(parameters, lr=lr, betas=betas, foreach=True)
