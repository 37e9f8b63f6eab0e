"""``python -m genmodels bench --style``: how fast the style-transfer lesson runs (BENCHMARKS.md).

For each feature network (a trained one without its weights on this machine: with untrained
weights, for speed and memory only, the arithmetic being the same) and each size (128 and 256 px;
512 on a GPU): steps/s of L-BFGS transfers (astronaut in the style of the procedural waves, from
the content picture) after two untimed warm-up steps, and the peak memory of the process that ran
it. Then, per network with real weights at 256 px, the time until the total loss is within 10% of
its value after 500 steps (the "converged" the lesson's goal speaks of).

Each case runs in a fresh process (``python -m benchmarks.style_bench CASE_JSON``), so its peak
memory (ru_maxrss on the CPU, torch's max_memory_allocated on CUDA) is its own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
NETWORKS = ("random", "squeezenet", "vgg19")
CONVERGE_STEPS = 500


def measure(case: dict) -> dict:
    """One case in this process: {steps_per_second, peak_mb, and for converge cases the seconds
    and steps until the loss is within 10% of its last value}."""
    import torch

    from genmodels.cli.style import feature_network
    from genmodels.lessons.pictures import bundled
    from genmodels.lessons.style_transfer import Step, StyleConfig, run
    from genmodels.models.features import network_info
    from genmodels.runtime import configure_process

    configure_process()
    device = case["device"]
    if case.get("weights") == "untrained":  # the same arithmetic, so the same speed; the losses mean nothing
        from genmodels.models.features import build_network

        network = build_network(case["features"])
    else:
        network = feature_network(case["features"], 0)
    content, style = bundled("astronaut"), bundled("waves")
    config = StyleConfig(features=case["features"], size=case["size"], steps=2, snapshot_every=0, device=device,
                         style_weight=network_info(case["features"]).style_weight)
    run(config, content, style, network)  # warm-up: first kernels, allocator growth
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    steps = case["steps"]
    curve: list[tuple[float, float]] = []  # (seconds since start, total loss) per step

    def record(event) -> None:
        if isinstance(event, Step):
            curve.append((event.elapsed, event.losses.total))

    started = time.perf_counter()
    finished = run(dataclasses.replace(config, steps=steps), content, style, network, on_event=record)
    seconds = time.perf_counter() - started
    result = {"steps_per_second": round(finished.step / seconds, 3), "seconds": round(seconds, 2)}
    if device == "cuda":
        result["peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    else:
        result["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux
    if case.get("converge"):
        final = finished.end.total
        first = next(i for i, (_, loss) in enumerate(curve) if loss <= 1.1 * final)
        result |= {"converged_step": first + 1, "converged_seconds": round(curve[first][0], 2),
                   "loss_start": curve[0][1], "loss_end": final}
    return result


def available(name: str) -> bool:
    from genmodels.sources.weights import local_file

    return name == "random" or local_file(name) is not None


def run_style_bench(quick: bool = False, device: str = "cpu", threads: int | None = None) -> Iterator[dict]:
    """One row per case, each measured in a fresh process (with ``threads`` torch threads: default
    one per core); a network without weights gets a row saying so."""
    environment = {**os.environ, **({"GENLAB_THREADS": str(threads)} if threads else {})}
    sizes = (128, 256, 512) if device == "cuda" else (128, 256)
    for name in NETWORKS:
        # Without its ImageNet weights a trained network is timed with untrained ones (speed and
        # memory only: the arithmetic is the same) and not run to convergence.
        weights = "seed 0" if name == "random" else "imagenet" if available(name) else "untrained"
        cases = [{"features": name, "weights": weights, "size": size, "steps": 5 if quick else 20, "device": device,
                  "threads": threads or "one per core"} for size in sizes]
        if not quick and weights != "untrained":
            cases.append({**cases[0], "size": 256, "steps": CONVERGE_STEPS, "converge": True})
        for case in cases:
            output = subprocess.run([sys.executable, "-m", "benchmarks.style_bench", json.dumps(case)],
                                    cwd=PACKAGE_ROOT, env=environment, capture_output=True, text=True, check=False)
            if output.returncode != 0:
                yield {**case, "failed": output.stderr.strip().splitlines()[-1:]}
                continue
            yield {**case, **json.loads(output.stdout.strip().splitlines()[-1])}


def format_row(row: dict) -> str:
    head = f"{row['features']:10} ({row.get('weights', '')})"
    if "failed" in row:
        return f"{head} {row['failed']}"
    text = (f"{head} {row['size']:>4} px on {row['device']}: {row['steps_per_second']:7.2f} steps/s over "
            f"{row['steps']} steps, peak {row['peak_mb']:,.0f} MB")
    if row.get("converge"):
        text += (f"; within 10% of its {row['steps']}-step loss after {row['converged_step']} steps, "
                 f"{row['converged_seconds']:.1f} s")
    return text


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))))
