"""``python -m genmodels stylize`` and ``weights`` as a user runs them: a real subprocess, real files."""

import json

from PIL import Image

from .test_cli import cli


def test_stylize_writes_a_png_and_ends_with_one_json_line(tmp_path):
    upload = tmp_path / "mine.png"
    Image.new("RGB", (90, 60), (200, 40, 40)).save(upload)
    out = tmp_path / "out.png"
    result = cli("stylize", "--content", str(upload), "--style", "gravel", "--size", "64", "--steps", "8",
                 "--device", "cpu", "--out", str(out), env={"GENLAB_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("features", "size", "steps", "seconds", "steps_per_second", "content_loss_start", "content_loss_end",
                "style_loss_start", "style_loss_end", "out"):
        assert key in summary
    assert summary["features"] == "random" and summary["steps"] == 8 and summary["out"] == str(out)
    assert summary["style_loss_end"] < summary["style_loss_start"]
    assert Image.open(out).size == (64, 43)  # the upload's aspect, 3:2


def test_bad_arguments_exit_2_with_one_line(tmp_path):
    for args in (["--content", "no-such-file", "--style", "brick"], ["--content", "astronaut", "--style", "brick",
                                                                       "--size", "2000"],
                 ["--content", "astronaut", "--style", "brick", "--features", "resnet"]):
        result = cli("stylize", *args, "--out", str(tmp_path / "x.png"))
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"not an image")
    result = cli("stylize", "--content", str(garbage), "--style", "brick", "--out", str(tmp_path / "x.png"))
    assert result.returncode == 2 and "garbage.png" in result.stderr


def test_trained_features_offline_without_weights_say_how_to_get_them(tmp_path):
    result = cli("stylize", "--content", "astronaut", "--style", "brick", "--features", "vgg19", "--out",
                 str(tmp_path / "x.png"), env={"TORCH_HOME": str(tmp_path)})
    assert result.returncode == 2 and "python -m genmodels weights vgg19" in result.stderr
    result = cli("weights", "squeezenet", env={"TORCH_HOME": str(tmp_path)})
    assert result.returncode == 2 and "squeezenet1_1-b8a52dc0.pth" in result.stderr
