"""Process-wide settings: torch's threads and denormals, the server's job cap, and handing freed
memory back to the operating system. Applied by whoever owns the process (the CLI, the app, the
benchmark); importing genmodels never changes them.

Threads: torch's CPU thread count is one number for the whole process. The CLI trains one model
at a time and uses every core. A server trains up to ``max_jobs()`` models at once while its pages
decode, encode and draw for everyone else, and each of those calls into torch runs its own team of
threads. So a server gives training at most half the cores: ``threads_per_job()`` is cores / (2 x
job cap), at least one. More threads than cores is far worse than it sounds: a team of two threads
waits at every barrier for a thread that is not running (on a busy 2-core machine, 32 steps of the
VAE preset took 1.0 s with one thread and 12.7 s with two; BENCHMARKS.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import threading
from pathlib import Path

import torch

from genmodels.configs import DEVICES, check_choice
from genmodels.errors import ConfigError


def env_number(name: str, default: float, low: float, high: float = float("inf")) -> float:
    """A number from the environment variable ``name`` (``default`` when unset or empty), with a
    message naming the variable when it is not a number or out of [low, high]."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ValueError(f"{name}={raw} is out of range: use a value between {low:g} and {high:g}")
    return value


def env_int(name: str, default: int, low: int, high: int = 2**62) -> int:
    value = env_number(name, default, low, high)
    if value != int(value):
        raise ValueError(f"{name}={os.environ[name]!r} must be a whole number")
    return int(value)


def available_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's core count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


def max_jobs() -> int:
    """How many training jobs one server runs at once ($GENLAB_MAX_JOBS, default one per two
    cores, at least one); the rest wait in a queue."""
    return env_int("GENLAB_MAX_JOBS", max(1, available_cores() // 2), 1, 1024)


def threads_per_job(jobs: int | None = None) -> int:
    """Torch threads for each of ``jobs`` concurrent jobs (default ``max_jobs()``): $GENLAB_THREADS
    if set, else half the cores shared out between the jobs (the other half serve the pages), at
    least one."""
    jobs = jobs or max_jobs()
    return env_int("GENLAB_THREADS", 0, 0, 1024) or max(1, available_cores() // (2 * jobs))


def flush_denormals() -> None:
    """Treat denormal floats (below 1.2e-38) as zero in the calling thread's CPU arithmetic.

    Adam's first moment for a weight whose gradient stays zero (the first layer's weights on
    Fashion-MNIST's always-black border pixels) shrinks by 0.9 a step and turns denormal after
    about 800 steps; arithmetic on denormals is many times slower on x86, and an MLP VAE's steps
    then take a third longer. Flushing them costs no accuracy a model can show.

    The setting (the CPU's flush-to-zero and denormals-are-zero flags) belongs to one thread, and a
    thread starts with a copy of its creator's. torch's OpenMP workers are created for each thread
    at its first parallel operation, so call this first thing in a thread that will train, before
    torch computes anything there: its workers then copy the setting too."""
    torch.set_flush_denormal(True)


def configure_process(threads: int | None = None) -> None:
    """Flush denormals in the calling thread (see ``flush_denormals``; threads it starts later
    inherit that) and set the number of CPU threads: ``threads``, else $GENLAB_THREADS, else
    torch's default (one per core)."""
    flush_denormals()
    threads = threads or env_int("GENLAB_THREADS", 0, 0, 1024)
    if threads > 0:
        torch.set_num_threads(threads)


_budget_lock = threading.Lock()
_budgeted_for: int | None = None


def budget_threads_for_jobs(jobs: int) -> int:
    """Once per process, before its first background job: set torch's threads to
    ``threads_per_job(jobs)``, so that ``jobs`` runs at once share the cores instead of each
    starting one thread per core. Returns the thread count in force. Threads started later (job
    threads, Streamlit's script threads) inherit it."""
    global _budgeted_for
    with _budget_lock:
        if _budgeted_for is None:
            configure_process(threads_per_job(jobs))
            _budgeted_for = jobs
    return torch.get_num_threads()


def _libc_malloc_trim():
    """glibc's malloc_trim, or None elsewhere (musl, macOS, Windows)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _libc_malloc_trim()


def release_memory() -> None:
    """Hand memory that is no longer referenced back to the system: collect reference cycles,
    empty CUDA's cache, and ask glibc to return freed heap pages (without that a server's RSS stays
    at its high-water mark after a class's models are freed)."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    if _malloc_trim is not None:
        _malloc_trim(0)


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks cuda, then mps, then cpu. Asking for a missing device is a ConfigError."""
    check_choice("device", name, DEVICES)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but no CUDA GPU is visible; use --device cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device 'mps' asked for, but this machine has no Apple GPU; use cpu or auto")
    return torch.device(name)


def checkpoint_dir() -> Path:
    """The folder of shipped checkpoints, for the CLI and the app alike: $GENLAB_CHECKPOINTS, else
    checkpoints/ at the root of the repository."""
    configured = os.environ.get("GENLAB_CHECKPOINTS", "").strip()
    return Path(configured) if configured else Path(__file__).resolve().parents[1] / "checkpoints"
