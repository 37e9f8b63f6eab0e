"""The benchmark's machinery on tiny runs: both recipes train and report the same fields, a worker
process answers in JSON, the rows are computed and printed right. No timing is asserted here: the
figures live in BENCHMARKS.md, measured with ``python -m genmodels bench``."""

import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import app_bench, bench
from genmodels.data import is_available
from tests.support import app_server

ROOT = Path(__file__).resolve().parents[1]

needs_fashion = pytest.mark.skipif(not is_available("fashion-mnist"),
                                   reason="Fashion-MNIST is not on disk (apt-get install dataset-fashion-mnist)")


@pytest.fixture(scope="module")
def root():
    if not is_available("fashion-mnist"):
        pytest.skip("Fashion-MNIST is not on disk")
    folder = bench.torchvision_root()
    yield folder
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def fashion():
    from genmodels.data import load_dataset

    if not is_available("fashion-mnist"):
        pytest.skip("Fashion-MNIST is not on disk")
    return load_dataset("fashion-mnist")


def tiny(key: str) -> bench.Case:
    """A case with the same shape of loop but narrow layers, so each step takes milliseconds."""
    case = bench.CASES[key]
    hidden = {"mlp": (16,), "conv": (4, 8)}[case.arch] if case.family == "vae" else (4,)
    return dataclasses.replace(case, hidden=hidden, latent_dim=4, workers=0)


def test_every_plan_names_known_cases_and_quick_keeps_the_classic_configuration():
    for device in ("cpu", "cuda"):
        for quick in (True, False):
            plan = bench.plan_for(device, quick)
            assert set(plan.runs) <= set(bench.CASES)
            assert all(unit in ("epochs", "steps") and count > 0 for unit, count in plan.runs.values())
            assert set(plan.rounds) <= set(plan.runs) and all(n >= 1 for n in plan.rounds.values())
    quick = bench.plan_for("cpu", quick=True)
    assert quick.runs["mlp-vae-b128"] == ("epochs", 1)  # a whole epoch, so the test losses compare
    assert not quick.first_step and not quick.threads
    assert quick.rounds == {"mlp-vae-b128": 2}  # the headline ratio: the two sides take turns twice
    full = bench.plan_for("cpu", quick=False)
    assert full.first_step and full.threads == (1, 2) and set(full.runs) == set(bench.CASES)
    assert bench.plan_for("cuda", quick=False).runs["mlp-vae-b128"] == ("epochs", 10)  # the GPU target


@pytest.mark.parametrize("key", ["mlp-vae-b128", "conv-vae-b128", "dcgan-b128"])
def test_both_recipes_train_the_same_case_and_report_the_same_fields(key, root, fashion):
    case = tiny(key)
    firsts = []
    classic = bench.run_classic(case, root, "cpu", max_steps=3, evaluate=False,
                                on_first_step=lambda: firsts.append("classic"))
    ours = bench.run_ours(case, "cpu", max_steps=3, evaluate=False, dataset=fashion)
    assert classic["steps"] == ours["steps"] == 3
    assert firsts == ["classic"]
    for result in (classic, ours):
        assert result["images_per_second"] > 0 and result["train_seconds"] > 0
    assert "test_loss" not in ours  # no epoch ended: a speed-only run
    assert ours["compile_seconds"] == 0


@pytest.mark.parametrize("key", ["mlp-vae-b128", "dcgan-b128"])
def test_both_recipes_end_with_the_same_test_metric(key, root, fashion):
    case = tiny(key)
    classic = bench.run_classic(case, root, "cpu", max_steps=2)
    ours = bench.run_ours(case, "cpu", max_steps=2, dataset=fashion)  # max_steps ends the epoch early
    for result in (classic, ours):
        assert math.isfinite(result["test_loss"])
    if case.family == "vae":  # nats per image, of one scale on both sides after two steps
        assert 300 < ours["test_loss"] < 700 and 300 < classic["test_loss"] < 700
    else:  # D's loss and mean outputs on the test split, as in training.gan_evaluate
        for result in (classic, ours):
            assert 0 < result["test_d_real"] < 1 and 0 < result["test_d_fake"] < 1 and result["test_loss"] > 0


def test_our_first_step_callback_stops_the_run_after_one_step(fashion):
    calls = []
    result = bench.run_ours(tiny("mlp-vae-b128"), "cpu", epochs=1, evaluate=False,
                            on_first_step=lambda: calls.append(1), dataset=fashion)
    assert calls == [1] and result == {"steps": 1}


@needs_fashion
def test_a_worker_process_answers_in_json():
    result = bench.spawn({"case": "mlp-vae-b128", "side": "ours", "device": "cpu", "steps": 2}, threads=1)
    assert result["steps"] == 2 and result["threads"] == 1 and result["peak_rss_mib"] > 50
    assert result["launched_at"] <= time.time()
    probe = bench.spawn({"case": "mlp-vae-b128", "side": "ours", "device": "cpu", "probe": True}, threads=1)
    assert probe["launched_at"] < probe["first_step_at"] <= time.time()


def test_the_cli_refuses_an_unknown_case_in_one_line():
    done = subprocess.run([sys.executable, "-m", "genmodels", "bench", "--case", "nope"], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "GENLAB_OFFLINE": "1"},
                          timeout=120)
    assert done.returncode == 2
    assert "unknown bench cases nope" in done.stderr and "Traceback" not in done.stderr


def test_compare_computes_the_ratio_and_the_loss_difference_and_rows_print():
    ours = {"images_per_second": 36000.0, "train_seconds": 1.7, "test_loss": 262.0, "peak_rss_mib": 900}
    classic = {"images_per_second": 12000.0, "train_seconds": 5.0, "test_loss": 262.5, "peak_rss_mib": 800}
    row = bench.compare(ours, classic, "epochs", 1)
    assert row["speedup"] == 3.0 and row["length"] == "1 epoch"
    assert row["loss_difference"] == pytest.approx(262.0 / 262.5 - 1, abs=1e-4)
    line = bench.format_row(bench.Row("case", "mlp-vae-b128", "cpu", row))
    assert "3.00x" in line and "36,000" in line and "-0.19%" in line
    compiled = row | {"compile_seconds": 12.5, "compile_error": "", "mode": "default"}
    assert "compile 12.5 s" in bench.format_row(bench.Row("compiled", "mlp-vae-b128", "cpu", compiled))
    first = bench.format_row(bench.Row("first_step", "mlp-vae-b128", "cpu",
                                       {"ours_cold": 4.1, "ours_cached": 3.2, "classic": 5.0}))
    assert "4.1 s cold" in first and "3.2 s cached" in first
    threads = bench.format_row(bench.Row("threads", "mlp-vae-b128", "cpu", {"threads": 1} | row))
    assert "1 thread(s)" in threads
    contended = bench.format_row(bench.Row("contended", "mlp-vae-b128", "cpu", {"threads": 2} | row))
    assert "one core busy" in contended and "2 thread(s)" in contended
    rounds = bench.format_row(bench.Row("case", "mlp-vae-b128", "cpu", row | {"round_speedups": [2.9, 3.1]}))
    assert "fastest of 2 rounds; each round: 2.90x, 3.10x" in rounds
    assert json.dumps(row)  # the CLI prints every row as JSON too


def test_machine_info_names_the_cpu_and_cores():
    info = bench.machine_info()
    assert info["cores"] >= 1 and info["cpu"] and info["torch"]


def test_app_bench_helpers_summarise_and_format():
    assert app_bench.summary([0.2, 0.4, 0.3]) == {"median": 0.3, "p95": 0.39, "min": 0.2, "max": 0.4, "n": 3}
    assert app_bench.summary([0.1] * 19 + [2.0])["p95"] == pytest.approx(0.195)  # between the two largest
    memory = app_server.memory_mib(os.getpid())
    if sys.platform.startswith("linux"):
        assert memory["rss_mib"] > 0 and memory["peak_rss_mib"] >= memory["rss_mib"]
    lines = [
        app_bench.format_result({"what": "first page", "seconds": 3.2, "target": 10.0}),
        app_bench.format_result({"what": "switch", "pages": {"Home": 0.4, "Train": 0.6}, "target": 1.5}),
        app_bench.format_result({"what": "memory", "rss_mib": 900, "peak_rss_mib": 1000}),
        app_bench.format_result({"what": "slider", **app_bench.summary([0.25, 0.35]), "target": 0.3}),
    ]
    assert lines[0] == "first page: 3.2 s (target < 10.0 s)"
    assert "Train 0.60 s" in lines[1] and "900 MiB" in lines[2] and "median 0.300 s, p95 0.345" in lines[3]


@pytest.mark.parametrize("sampler", [None, "ddpm"])
def test_the_diffusion_bench_scores_the_sampler_and_steps_it_names(sampler):
    """bench --diffusion's rows name a sampler and a step count: StepsSampler must draw with those."""
    import torch

    from benchmarks.diffusion_bench import StepsSampler
    from genmodels.models.diffusion import DiffusionConfig, DiffusionModel

    model = DiffusionModel(DiffusionConfig(process="ddpm", data="image", hidden=(4, 8)),
                           torch.Generator().manual_seed(0)).eval()
    torch.nn.init.normal_(model.net.conv_out.weight, generator=torch.Generator().manual_seed(1))  # not all zero
    drawn = StepsSampler(model, 3, sampler).sample(2, generator=torch.Generator().manual_seed(2))
    expected = model.sample(2, generator=torch.Generator().manual_seed(2), steps=3, sampler=sampler)
    other = model.sample(2, generator=torch.Generator().manual_seed(2), steps=3,
                         sampler="ddim" if sampler == "ddpm" else "ddpm")
    assert torch.equal(drawn, expected) and not torch.equal(drawn, other)
