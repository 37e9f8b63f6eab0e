"""The command line end to end, as a user runs it: a real subprocess, real files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .test_data import make_mnist_folder

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd=None, env=None):
    environment = {**os.environ, "GENLAB_OFFLINE": "1", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "genmodels", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=environment, timeout=300)


def test_train_info_and_eval_on_sprites(tmp_path):
    out = tmp_path / "v.safetensors"
    result = cli("train", "vae", "--dataset", "sprites", "--epochs", "1", "--max-steps", "20", "--latent-dim", "2",
                 "--device", "cpu", "--out", str(out))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("family", "dataset", "device", "epochs", "steps", "seconds", "images_per_second", "train_loss",
                "test_loss", "out"):
        assert key in summary
    assert summary["family"] == "vae" and summary["steps"] == 20 and summary["out"] == str(out) and out.exists()

    info = json.loads(cli("info", str(out)).stdout)
    assert info["family"] == "vae" and info["model_config"]["latent_dim"] == 2 and info["dataset"] == "sprites"
    assert info["train_config"]["max_steps"] == 20 and info["format_version"] == 1

    metrics = json.loads(cli("eval", str(out)).stdout)
    assert metrics["test_loss"] == pytest.approx(summary["test_loss"], rel=1e-4)

    # --update stores the freshly measured metrics in the file's metadata.
    updated = json.loads(cli("eval", str(out), "--update").stdout)
    assert json.loads(cli("info", str(out)).stdout)["metrics"]["test_kl"] == pytest.approx(updated["test_kl"])


def test_train_autoencoder_reports_bce_mse_and_psnr(tmp_path):
    result = cli("train", "dae", "--dataset", "sprites", "--max-steps", "10", "--hidden", "8,16",
                 "--noise", "masking", "--noise-level", "0.3", "--out", str(tmp_path / "d.safetensors"))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"test_bce", "test_mse", "test_psnr"} <= set(summary)


def test_train_on_a_local_mnist_folder(tmp_path):
    make_mnist_folder(tmp_path / "data" / "mnist")
    result = cli("train", "ae", "--dataset", "mnist", "--max-steps", "3", "--batch-size", "16",
                 "--out", "m.safetensors", cwd=tmp_path, env={"GENLAB_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["dataset"] == "mnist"
    assert (tmp_path / "m.safetensors").exists()


def test_datasets_lists_where_each_is_found():
    result = cli("datasets")
    assert result.returncode == 0
    assert "sprites" in result.stdout and "fashion-mnist" in result.stdout and "toy-ring" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "diffusion"], "invalid choice: 'diffusion'"),
    (["train", "vae", "--epochs", "0", "--dataset", "sprites"], "epochs must be between 1 and 1000"),
    (["train", "vae", "--rho", "0.1", "--dataset", "sprites"], "vae has no setting sparsity_target"),
    (["train", "vae", "--dataset", "toy-ring"], "vae trains on image data"),
    (["train", "vae", "--dataset", "kmnist"], "kmnist is not on this machine"),
    (["train", "vae", "--hidden", "abc"], "expected widths like 400"),
    (["info", "/no/such/file.safetensors"], "cannot read"),
])
def test_bad_arguments_exit_nonzero_with_one_line_and_no_traceback(args, message, tmp_path):
    result = cli(*args, cwd=tmp_path, env={"GENLAB_CACHE": str(tmp_path / "cache")})
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_denoise_report_prints_one_row_per_level(tmp_path):
    out = tmp_path / "d.safetensors"
    assert cli("train", "dae", "--dataset", "sprites", "--max-steps", "5", "--hidden", "8,16",
               "--out", str(out)).returncode == 0
    result = cli("denoise-report", str(out), "--dataset", "sprites", "--levels", "0.2,0.6", "--pca", "5")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["level"] for row in rows] == [0.2, 0.6]
    assert rows[0]["noisy input"]["psnr"] > rows[1]["noisy input"]["psnr"]
    assert {"PCA-5", "d"} <= set(rows[0])
