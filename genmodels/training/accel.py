"""Accelerator settings the loop applies: bf16 autocast and channels_last on CUDA, and
torch.compile of a model's parts in place (undone after the run)."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from genmodels.configs import check_choice

# torch.compile modes train() accepts: "none" is eager; "reduce-overhead" adds CUDA graphs.
COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune")


def autocast(device: torch.device):
    """bf16 autocast on CUDA (matmuls and convs in bf16; losses, exp and log stay fp32);
    full fp32 elsewhere, where bf16 would be slower or less precise."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def uses_channels_last(model: nn.Module, device: torch.device) -> bool:
    """Conv models on CUDA train in channels_last (NHWC), the layout cuDNN's bf16 tensor-core
    kernels read directly; on the CPU and for MLPs the default layout is as fast."""
    return device.type == "cuda" and any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in model.modules())


def compile_parts(model: nn.Module, mode: str) -> None:
    """torch.compile each top-level part of ``model`` (encoder, decoder, generator, discriminator...)
    in place with ``nn.Module.compile``: the step functions call those parts, not ``forward``, and
    in-place compilation leaves the state_dict keys alone (no ``_orig_mod.`` prefixes), so a
    checkpoint saved during or after training loads into a plain model."""
    check_choice("compile_mode", mode, COMPILE_MODES)
    for part in model.children():
        part.compile(mode=None if mode == "default" else mode)


def uncompile_parts(model: nn.Module) -> None:
    """Undo ``compile_parts``: ``nn.Module.compile`` stores the compiled call here, and None means
    eager again (so the app's later calls, on other shapes, never wait for a recompilation)."""
    for part in model.children():
        part._compiled_call_impl = None


def synchronize(device: torch.device) -> None:
    """Wait for the GPU, so that a wall-clock reading covers the work queued so far."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
