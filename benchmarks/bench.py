"""``python -m genmodels bench``: our trainer against the classic recipe, side by side.

The classic recipes are re-implemented here faithfully after pytorch/examples:

- ``vae/main.py``: a torchvision dataset with ``ToTensor``, a shuffling ``DataLoader`` that builds
  each batch image by image, a sigmoid decoder with ``F.binary_cross_entropy``, and one
  ``loss.item()`` (a host sync) per step. The conv VAE case trains our conv VAE's architecture
  written the same way (pytorch/examples has no conv VAE).
- ``dcgan/main.py``: ``ToTensor`` + ``Normalize(0.5, 0.5)`` through a ``DataLoader`` with the
  example's two worker processes, a sigmoid discriminator with ``nn.BCELoss``, D updated on the
  real batch and on ``fake.detach()``, then G on the same fakes, and five ``.item()`` per step
  (errD, errG, D(x), D(G(z)) twice; the example prints them every step, here they are only read).
  The networks are our DCGAN's layers, so both sides train the same model.

Each side of each case runs in a fresh process (``python -m genmodels bench --worker JOB``), after
an untimed warm-up of a few steps of its own loop, so neither pays for one-off costs (the first
matmuls, oneDNN's kernel choice, allocator growth, creating the first fused Adam) and each reports
its own peak memory. Images/s counts training steps only; the test metric is computed on the whole
test split after the same number of epochs (or steps) on both sides. For the headline case (MLP VAE,
batch 128) the two sides take turns for a few rounds and each keeps its fastest (``Plan.rounds``).
The same worker measures the time from process start to the first optimizer step, and the thread
scaling.

The classic side lives in classic.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from benchmarks.classic import run_classic, torchvision_root
from genmodels.errors import ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the folder holding genmodels/, for the workers


# --------------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One comparison: the same model, data, batch size, learning rate and length on both sides."""

    key: str
    title: str
    family: str  # "vae" or "dcgan"
    arch: str  # "mlp" or "conv"
    batch_size: int
    lr: float
    hidden: tuple[int, ...]  # MLP widths, conv VAE channels, or (DCGAN base width,)
    latent_dim: int
    workers: int = 0  # the classic DataLoader's worker processes on the CPU (as in the example)

    @property
    def metric(self) -> str:
        return "-ELBO nats/image" if self.family == "vae" else "D loss"


CASES = {
    case.key: case for case in (
        Case("mlp-vae-b128", "MLP VAE 784-400-20, batch 128", "vae", "mlp", 128, 1e-3, (400,), 20),
        Case("mlp-vae-b512", "MLP VAE 784-400-20, batch 512", "vae", "mlp", 512, 1e-3, (400,), 20),
        Case("conv-vae-b128", "conv VAE (32, 64)-20, batch 128", "vae", "conv", 128, 1e-3, (32, 64), 20),
        Case("dcgan-b128", "DCGAN 28x28 (width 64), batch 128", "dcgan", "conv", 128, 2e-4, (64,), 64, workers=2),
    )
}


@dataclass(frozen=True)
class Plan:
    """What one bench run measures. Per case: epochs, or a number of steps (speed only, when a
    full epoch would take too long on this device); None skips the case."""

    runs: dict[str, tuple[str, int]]  # case key -> ("epochs" | "steps", count)
    # case key -> rounds (default 1): fresh classic and ours processes in turn (classic first, then
    # ours first, ...), each side's fastest round kept. This machine's speed drifts by +-5% over
    # tens of seconds; taking turns lets both sides meet the same drift, so the ratio of a short
    # run moves less from one bench to the next.
    rounds: dict[str, int] = field(default_factory=dict)
    first_step: bool = False  # process start -> first optimizer step, cold and cached
    threads: tuple[int, ...] = ()  # thread counts to compare on mlp-vae-b128 (CPU)
    compile: bool = False  # also our trainer with torch.compile (compile time reported apart)


def plan_for(device: str, quick: bool, compile: bool = False) -> Plan:
    """--quick: the classic configuration for one epoch (the ratio and the loss check), the conv
    cases for a few steps; under a minute on 2 CPU cores. Full: everything, sized to the device."""
    if quick:
        runs = {"mlp-vae-b128": ("epochs", 1), "conv-vae-b128": ("steps", 40), "dcgan-b128": ("steps", 15)}
        return Plan(runs=runs, rounds={"mlp-vae-b128": 2}, compile=compile)
    if device == "cuda":  # the GPU targets: 10 MLP VAE epochs, DCGAN epochs
        runs = {"mlp-vae-b128": ("epochs", 10), "mlp-vae-b512": ("epochs", 10), "conv-vae-b128": ("epochs", 3),
                "dcgan-b128": ("epochs", 1)}
        return Plan(runs=runs, rounds={"mlp-vae-b128": 2}, first_step=True, compile=compile)
    runs = {"mlp-vae-b128": ("epochs", 3), "mlp-vae-b512": ("epochs", 3), "conv-vae-b128": ("epochs", 1),
            "dcgan-b128": ("steps", 100)}
    return Plan(runs=runs, rounds={"mlp-vae-b128": 3}, first_step=True, threads=(1, 2), compile=compile)


# --------------------------------------------------------------------------------------------
# Our trainer
# --------------------------------------------------------------------------------------------

def run_ours(case: Case, device: str, epochs: int = 1, max_steps: int = 0, seed: int = 1, evaluate: bool = True,
             compile_mode: str = "none", on_first_step=None, dataset=None) -> dict:
    """Train with genmodels.training on the dataset as tensors on the device; same fields as
    ``run_classic`` plus compile_seconds (kept out of images/s)."""
    from genmodels import registry
    from genmodels.configs import TrainConfig
    from genmodels.data import load_dataset
    from genmodels.runtime import resolve_device
    from genmodels.training import loop

    spec = registry.family(case.family)
    dataset = dataset or load_dataset("fashion-mnist", resolve_device(device))
    model_config = registry.model_config(spec, dataset, arch=case.arch, hidden=case.hidden,
                                         latent_dim=case.latent_dim)
    config = TrainConfig(epochs=epochs, max_steps=max_steps, batch_size=case.batch_size, lr=case.lr,
                                  seed=seed, device=device, snapshot_every=0,
                                  log_every=1 if on_first_step else 100)
    if not evaluate:  # a speed-only run: no test pass at the end (nor at epoch ends)
        spec = dataclasses.replace(spec, evaluate=lambda model, data, seed: {})
    model = registry.build_model(spec, model_config, seed=seed)
    finished = None
    for event in loop.train(spec, model, dataset, config, compile_mode=compile_mode):
        if on_first_step is not None and isinstance(event, loop.Step):
            on_first_step()
            return {"steps": event.step}
        if isinstance(event, loop.Finished):
            finished = event
    result = {"images_per_second": finished.images_per_second, "train_seconds": finished.train_seconds,
              "steps": finished.step, "compile_seconds": finished.compile_seconds}
    if finished.compile_error:
        result["compile_error"] = finished.compile_error
    if evaluate and finished.test:
        result.update({k: v for k, v in finished.test.items() if k in ("test_loss", "test_d_real", "test_d_fake")})
    return result


# --------------------------------------------------------------------------------------------
# One side of one case in a fresh process
# --------------------------------------------------------------------------------------------

WARM_UP_STEPS = {"vae": 30, "dcgan": 3}
CONTENDED_STEPS = 150  # a speed-only run: under contention a whole epoch can take minutes


def worker(job: dict) -> dict:
    """Run inside ``python -m genmodels bench --worker JOB``: one side of one case, after an untimed
    warm-up of the same loop. job: side ("ours" | "classic"), case, device, epochs, steps, root
    (the torchvision folder, classic only), workers (classic only), compile_mode, probe (only time
    the first step)."""
    case = CASES[job["case"]]
    if "workers" in job:  # the classic DataLoader's worker processes, other than the example's
        case = dataclasses.replace(case, workers=int(job["workers"]))
    device, side = job["device"], job["side"]
    if side not in ("ours", "classic"):
        raise ConfigError(f"side must be ours or classic; got {side!r}")
    root = Path(job.get("root", ""))
    if job.get("probe"):  # process start -> first optimizer step: no warm-up, nothing else
        stamp = {}

        def mark():
            synchronize(device)
            stamp["at"] = time.time()

        if side == "ours":
            run_ours(case, device, max_steps=1, evaluate=False, on_first_step=mark)
        else:
            run_classic(case, root, device, max_steps=1, evaluate=False, on_first_step=mark)
        return {"first_step_at": stamp["at"]}

    warm = WARM_UP_STEPS[case.family]
    if side == "ours":
        from genmodels.data import load_dataset
        from genmodels.runtime import resolve_device

        dataset = load_dataset("fashion-mnist", resolve_device(device))  # one copy for both runs
        run_ours(case, device, max_steps=warm, evaluate=False, dataset=dataset)
        result = run_ours(case, device, epochs=job.get("epochs", 1), max_steps=job.get("steps", 0),
                          evaluate=not job.get("steps"), compile_mode=job.get("compile_mode", "none"),
                          dataset=dataset)
    else:
        run_classic(case, root, device, max_steps=warm, evaluate=False)
        result = run_classic(case, root, device, epochs=job.get("epochs", 1), max_steps=job.get("steps", 0),
                             evaluate=not job.get("steps"))
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if device == "cuda":
        result["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
    result["threads"] = torch.get_num_threads()
    return result


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def spawn(job: dict, threads: int | None = None, cache: Path | None = None, timeout: float = 1800) -> dict:
    """Run ``worker(job)`` in a fresh ``python -m genmodels`` process; its JSON result, plus
    ``launched_at`` (the wall clock just before the process was started)."""
    env = {**os.environ, "GENLAB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
    if threads:
        env["GENLAB_THREADS"] = str(threads)
    if cache is not None:
        env["GENLAB_CACHE"] = str(cache)
    launched_at = time.time()
    done = subprocess.run([sys.executable, "-m", "genmodels", "bench", "--worker", json.dumps(job)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"bench worker {job} failed (status {done.returncode}):\n{done.stderr[-2000:]}")
    return {**json.loads(lines[-1]), "launched_at": launched_at}


# --------------------------------------------------------------------------------------------
# The whole benchmark
# --------------------------------------------------------------------------------------------

@dataclass
class Row:
    """One line of a result table; ``kind`` says which: "case", "compiled", "first_step", "threads",
    "contended" (the thread rows again, with one core kept busy by another process)."""

    kind: str
    case: str
    device: str
    values: dict = field(default_factory=dict)


def run_bench(quick: bool = False, device: str = "cpu", compile: bool = False,
              cases: tuple[str, ...] | None = None, threads: int | None = None) -> Iterator[Row]:
    """Yield result rows as they are measured (the CLI prints them). ``cases`` limits the run."""
    from genmodels.runtime import resolve_device

    device = str(resolve_device(device))
    plan = plan_for(device, quick, compile)
    runs = {k: v for k, v in plan.runs.items() if cases is None or k in cases}
    unknown = sorted(set(cases or ()) - set(CASES))
    if unknown:
        raise ConfigError(f"unknown bench cases {', '.join(unknown)}; valid: {', '.join(CASES)}")
    root = torchvision_root()
    try:
        for key, (unit, count) in runs.items():
            length = {"epochs": count} if unit == "epochs" else {"steps": count}
            job = {"case": key, "device": device, "root": str(root), **length}
            classic_rounds, ours_rounds = [], []
            for turn in range(plan.rounds.get(key, 1)):
                sides = [("classic", classic_rounds), ("ours", ours_rounds)]
                for side, results in sides if turn % 2 == 0 else reversed(sides):  # ABBA: neither always first
                    results.append(spawn({**job, "side": side}, threads))
            classic, ours = fastest(classic_rounds), fastest(ours_rounds)
            row = compare(ours, classic, unit, count)
            if len(ours_rounds) > 1:
                row["round_speedups"] = [round(o["images_per_second"] / c["images_per_second"], 2)
                                         for o, c in zip(ours_rounds, classic_rounds)]
            yield Row("case", key, device, row)
            if plan.compile:
                compiled = spawn({**job, "side": "ours", "compile_mode": compile_mode_for(device)}, threads)
                yield Row("compiled", key, device, compare(compiled, classic, unit, count)
                          | {"compile_seconds": round(compiled.get("compile_seconds", 0.0), 1),
                             "compile_error": compiled.get("compile_error", ""),
                             "mode": compile_mode_for(device)})
        if plan.first_step and (cases is None or "mlp-vae-b128" in cases):
            yield Row("first_step", "mlp-vae-b128", device, first_step_times(root, device, threads))
        scaling = plan.threads if cases is None or "mlp-vae-b128" in cases else ()
        for count in scaling:
            job = {"case": "mlp-vae-b128", "device": device, "root": str(root), "epochs": 1}
            classic, ours = spawn({**job, "side": "classic"}, count), spawn({**job, "side": "ours"}, count)
            yield Row("threads", "mlp-vae-b128", device, {"threads": count} | compare(ours, classic, "epochs", 1))
        if scaling:  # the same with one core kept busy by another process, as on a shared machine
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                for count in scaling:
                    job = {"case": "mlp-vae-b128", "device": device, "root": str(root), "steps": CONTENDED_STEPS}
                    classic, ours = spawn({**job, "side": "classic"}, count), spawn({**job, "side": "ours"}, count)
                    yield Row("contended", "mlp-vae-b128", device,
                              {"threads": count} | compare(ours, classic, "steps", CONTENDED_STEPS))
            finally:
                busy.kill()
                busy.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def fastest(rounds: list[dict]) -> dict:
    """The round with the most images/s (seeded, the rounds end at the same test metric)."""
    return max(rounds, key=lambda result: result["images_per_second"])


def compile_mode_for(device: str) -> str:
    """CUDA graphs pay for themselves where launches dominate (small models on a GPU)."""
    return "reduce-overhead" if device == "cuda" else "default"


def compare(ours: dict, classic: dict, unit: str, count: int) -> dict:
    row = {"length": f"{count} {unit if count != 1 else unit[:-1]}",
           "ours_images_per_second": round(ours["images_per_second"]),
           "classic_images_per_second": round(classic["images_per_second"]),
           "speedup": round(ours["images_per_second"] / classic["images_per_second"], 2),
           "ours_train_seconds": round(ours["train_seconds"], 2),
           "classic_train_seconds": round(classic["train_seconds"], 2),
           "ours_peak_rss_mib": ours.get("peak_rss_mib"), "classic_peak_rss_mib": classic.get("peak_rss_mib")}
    if "peak_gpu_mib" in ours:
        row.update(ours_peak_gpu_mib=ours["peak_gpu_mib"], classic_peak_gpu_mib=classic.get("peak_gpu_mib"))
    if "test_loss" in ours and "test_loss" in classic:
        row.update(ours_test_loss=round(ours["test_loss"], 3), classic_test_loss=round(classic["test_loss"], 3),
                   loss_difference=round(ours["test_loss"] / classic["test_loss"] - 1, 4))
    for name in ("test_d_real", "test_d_fake"):
        if name in ours:
            row.update({f"ours_{name}": round(ours[name], 3), f"classic_{name}": round(classic[name], 3)})
    return row


def first_step_times(root: Path, device: str, threads: int | None) -> dict:
    """Seconds from launching a process to its first optimizer step (MLP VAE, batch 128). Ours
    "cold" starts with an empty array cache (it decodes the gzipped IDX files and writes the
    cache); "cached" reads that cache. The classic recipe has no cache: torchvision parses the raw
    files on every start. Python's bytecode and the OS file cache are warm in all three."""
    job = {"case": "mlp-vae-b128", "device": device, "root": str(root), "probe": True}
    with tempfile.TemporaryDirectory(prefix="genlab-bench-cache-") as cache:
        cold = spawn({**job, "side": "ours"}, threads, Path(cache))
        cached = spawn({**job, "side": "ours"}, threads, Path(cache))
    classic = spawn({**job, "side": "classic"}, threads)
    return {name: round(r["first_step_at"] - r["launched_at"], 2)
            for name, r in (("ours_cold", cold), ("ours_cached", cached), ("classic", classic))}


def machine_info() -> dict:
    """What the figures were measured on: CPU model, usable cores, load, torch, GPU, date."""
    import platform
    from datetime import datetime

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {"cpu": cpu, "cores": cores, "torch": torch.__version__, "date": datetime.now().strftime("%Y-%m-%d %H:%M")}
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def format_row(row: Row) -> str:
    """One human-readable line per row (the CLI prints these, then everything as JSON)."""
    v, title = row.values, CASES[row.case].title
    if row.kind in ("case", "compiled"):
        label = f"{title}{' (compiled)' if row.kind == 'compiled' else ''}, {v['length']}"
        text = (f"{label:52} ours {v['ours_images_per_second']:>9,} img/s ({v['ours_train_seconds']:.2f} s)  "
                f"classic {v['classic_images_per_second']:>8,} img/s  {v['speedup']:>6.2f}x")
        if "ours_test_loss" in v:
            text += (f"  {CASES[row.case].metric}: ours {v['ours_test_loss']:.2f}, classic "
                     f"{v['classic_test_loss']:.2f} ({100 * v['loss_difference']:+.2f}%)")
        text += f"  peak RSS {v['ours_peak_rss_mib']} / {v['classic_peak_rss_mib']} MiB"
        if "round_speedups" in v:
            text += (f"  (fastest of {len(v['round_speedups'])} rounds; each round: "
                     + ", ".join(f"{r:.2f}x" for r in v["round_speedups"]) + ")")
        if row.kind == "compiled":
            text += f"  compile {v['compile_seconds']} s" + (f" FAILED: {v['compile_error']}"
                                                            if v["compile_error"] else "")
        return text
    if row.kind == "first_step":
        return (f"process start -> first optimizer step ({title}): ours {v['ours_cold']} s cold, "
                f"{v['ours_cached']} s cached; classic {v['classic']} s")
    if row.kind == "contended":
        title += ", one core busy with another process"
    return (f"{title}, {v['threads']} thread(s): ours {v['ours_images_per_second']:,} img/s, "
            f"classic {v['classic_images_per_second']:,} img/s ({v['speedup']:.2f}x)")
