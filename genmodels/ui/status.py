"""What the sidebar shows about the machine."""

import torch

from genmodels.i18n import _, ngettext
from genmodels.runtime import resolve_device


def device_label() -> str:
    """'GPU: NVIDIA H100 80GB HBM3', 'Apple GPU (MPS)' or 'CPU, 2 threads'."""
    device = resolve_device("auto")
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return _("Apple GPU (MPS)")
    threads = torch.get_num_threads()
    return ngettext("CPU, {n} thread", "CPU, {n} threads", threads, n=threads)
