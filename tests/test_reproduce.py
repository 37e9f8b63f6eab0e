"""Reproduce: the retrain command parses, and the loading script runs against a real file."""

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from genmodels import checkpoints, reproduce
from genmodels.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "checkpoints").glob("*.safetensors"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_command_of_every_shipped_model_is_a_valid_cli_call(path):
    info = checkpoints.load_checkpoint(path).info
    command = reproduce.train_command(info).splitlines()[-1]
    words = shlex.split(command)
    assert words[:4] == ["python", "-m", "genmodels", "train"]
    args = build_parser().parse_args(words[3:])
    assert args.family == info.family and args.dataset == info.dataset
    assert args.latent_dim == getattr(info.model_config, "latent_dim", None) and args.seed == info.train_config.seed
    # ddpm and flow average their weights unless told otherwise: the command says which it was
    assert (args.ema or 0.0) == info.train_config.ema
    assert ("--ema" in words) == (info.family in ("ddpm", "flow") or info.train_config.ema > 0)


@pytest.mark.parametrize("path", [p for p in SHIPPED if p.stem in ("vae-fashion-2d", "dae-fashion", "ddpm-fashion")],
                         ids=lambda p: p.stem)
def test_the_loading_script_runs(path, tmp_path):
    info = checkpoints.load_checkpoint(path).info
    script = tmp_path / "load.py"
    script.write_text(reproduce.loading_script(info, str(path)))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(ROOT)}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "samples:" in result.stdout or "codes:" in result.stdout
