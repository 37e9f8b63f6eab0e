"""What the sidebar shows about the machine."""

import torch

from genmodels.i18n import _, ngettext
from genmodels.runtime import available_cores, budget_threads_for_jobs, resolve_device
from genmodels.serving.jobs import SLOTS


def device_label() -> str:
    """'GPU: NVIDIA H100 80GB HBM3', 'Apple GPU (MPS)' or 'CPU, 2 cores; 1 thread per training job'.

    The thread count is the one training jobs get. The server sets it once, before its first job
    (runtime.budget_threads_for_jobs); it is set here first, so the sidebar says the same number on
    the first page a visitor opens as on every later one (it used to read torch's default, one
    thread per core, until the first job line was drawn)."""
    device = resolve_device("auto")
    if device.type == "cuda":
        return _("GPU: {name}", name=torch.cuda.get_device_name(device))
    if device.type == "mps":
        return _("Apple GPU (MPS)")
    threads = budget_threads_for_jobs(SLOTS.capacity)
    cores = available_cores()
    return (ngettext("CPU, {n} core", "CPU, {n} cores", cores, n=cores) + _("; ")
            + ngettext("{n} thread per training job", "{n} threads per training job", threads, n=threads))
