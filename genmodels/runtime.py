"""Process-wide torch settings, applied once by whoever owns the process (the CLI, the app, the
benchmark); importing genmodels never changes them."""

from __future__ import annotations

import os

import torch


def configure_process(threads: int | None = None) -> None:
    """Flush denormal floats to zero (tiny Adam second moments otherwise slow CPU training by a
    third, at no visible cost in accuracy) and set the number of CPU threads: ``threads``, else
    $GENLAB_THREADS, else torch's default (one per core)."""
    torch.set_flush_denormal(True)
    threads = threads or int(os.environ.get("GENLAB_THREADS", "0"))
    if threads > 0:
        torch.set_num_threads(threads)
