"""The words of the Autoencoders, Denoising, Train and Models pages hold for the shipped models:
each claim a page keeps in words is computed on the spot there, or pinned here (issue 17).

- the bottleneck chart: which autoencoders beat PCA of their own code size, which do not, and why;
- the sparsity penalty's formula on screen is the one losses.sparsity_kl computes (brackets and all);
- the Train page names the beta objective for what it is;
- the Denoising lab's "unlike the training data" check separates held-out test images from
  photographs, text, line drawings and gradients at the rates the page quotes;
- names are plain text: the reproduce command survives the shell, Markdown shows them literally;
- the sidebar's device line says the same thing on the first page as on every later one."""

from __future__ import annotations

import ast
import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

from genmodels import losses, reproduce
from genmodels.checkpoints import load_checkpoint
from genmodels.data import is_available, load_dataset
from genmodels.lessons.codes import against_pca, wider_but_worse
from genmodels.lessons.denoising import (
    FAMILIAR_TEST,
    FAMILIAR_TRAIN,
    FLAGGED_AT_LEAST,
    FLAGGED_TEST_AT_MOST,
    PCA,
    bottleneck_sizes,
    familiarity_classifier_path,
    fit_familiarity,
)
from genmodels.lessons.latent import reconstruct
from genmodels.metrics.frechet import classifier_path, embed, load_classifier
from genmodels.metrics.image_quality import psnr

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "checkpoints"
needs_fashion = pytest.mark.skipif(not is_available("fashion-mnist"), reason="Fashion-MNIST is not installed")


def page_constant(page: str, name: str):
    """A constant assigned at the top level of a page file, read without running the page."""
    tree = ast.parse((ROOT / "pages" / page).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return node.value
    raise AssertionError(f"{page} has no {name}")


# --- the bottleneck chart -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def fashion():
    return load_dataset("fashion-mnist", "cpu")


@needs_fashion
def test_the_bottleneck_words_match_the_shipped_models(fashion):
    """As the page computes them (cache.pca_curve and reconstruction_psnr on 2,000 test images)."""
    test = fashion.test_x[:2000]
    shipped = {}
    for path in sorted(CHECKPOINTS.glob("*.safetensors")):
        loaded = load_checkpoint(path)
        if loaded.info.family in ("ae", "sparse_ae") and loaded.info.dataset == "fashion-mnist":
            shipped[path.stem] = loaded
    points = [(name, c.model.config.latent_dim, psnr(reconstruct(c.model, test), test).mean().item(),
               c.model.config, c.info.train_config.epochs) for name, c in shipped.items()]
    sizes = bottleneck_sizes(size for _name, size, *_rest in points)
    assert {size for _name, size, *_rest in points} <= set(sizes)  # PCA at every autoencoder's size
    full = PCA.fit(fashion.train_x, fashion.train_x[0].numel())
    curve = [psnr(PCA(full.mean, full.components[:k]).reconstruct(test), test).mean().item() for k in sizes]
    assert curve == sorted(curve), "the PCA line must rise with k, as the caption says"
    results = {r.name: r for r in against_pca(points, dict(zip(sizes, curve)))}

    for name in ("ae-conv-fashion", "ae-mlp-32", "ae-fashion-2d"):  # nonlinear codes beat PCA of their size
        assert results[name].beats_pca, (name, results[name])
        assert "nonlinear" in str(results[name].reasons[-1])
    for name in ("ae-196", "sparse-ae-196"):  # one layer each way at k = 196: below PCA with 196 components
        assert not results[name].beats_pca, (name, results[name])
        assert any("one layer each way" in str(reason) for reason in results[name].reasons)
    assert any("sparsity penalty" in str(reason) for reason in results["sparse-ae-196"].reasons)
    assert not any("sparsity penalty" in str(reason) for reason in results["ae-196"].reasons)
    wider, narrower = wider_but_worse(list(results.values()))  # "a wider code is not by itself better"
    assert wider.code_size > narrower.code_size and wider.psnr < narrower.psnr


# --- formulas on screen against the code's docstrings ------------------------------------------

def test_the_sparsity_formula_keeps_both_terms_inside_the_sum():
    formula = ast.literal_eval(page_constant("autoencoders.py", "SPARSITY_FORMULA"))
    penalty = formula.split(r"\Omega = ")[1]
    assert penalty.startswith(r"\sum_j \Big[") and penalty.endswith(r"\Big]")
    assert penalty.count(r"\log") == 2  # both log terms between the brackets
    assert "sum_j [ rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j)) ]" in (
        losses.sparsity_kl.__doc__)
    # ... and it is what the function computes: the formula written out by hand, on random codes.
    code = torch.rand(64, 10, generator=torch.Generator().manual_seed(0))
    rho, rho_hat = 0.05, code.mean(dim=0)
    by_hand = sum(rho * torch.log(rho / r) + (1 - rho) * torch.log((1 - rho) / (1 - r)) for r in rho_hat)
    assert torch.allclose(losses.sparsity_kl(code, rho), by_hand)


def test_the_train_page_does_not_call_the_beta_objective_the_elbo():
    formulas = page_constant("train.py", "FORMULAS")
    vae = next(value for key, value in zip(formulas.keys, formulas.values) if ast.literal_eval(key) == "vae")
    formula = "".join(ast.literal_eval(part) for part in ast.walk(vae.elts[0]) if isinstance(part, ast.Constant))
    assert formula.startswith(r"\mathcal{L}_\beta = ") and r"\beta = 1" in formula
    assert "-ELBO = BCE + beta" not in losses.negative_elbo.__doc__
    assert "At beta = 1 this is the negative ELBO" in losses.negative_elbo.__doc__


# --- the Denoising lab's check of unfamiliar pictures -------------------------------------------

def prepared(picture: Image.Image) -> torch.Tensor:
    """A picture through the lab's own upload path (grey, square, inverted if light, 28x28)."""
    from genmodels.images import prepare_image

    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return prepare_image("picture.png", buffer.getvalue(), keep_steps=False).tensor


def unlike_fashion() -> dict[str, torch.Tensor]:
    """Photographs (scikit-image's sample photos and crops of them), text, line drawings and
    gradients: (N, 1, 28, 28) each."""
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    generator = torch.Generator().manual_seed(0)
    groups: dict[str, list[torch.Tensor]] = {name: [] for name in FLAGGED_AT_LEAST}
    photos = ["coffee.png", "camera.png", "astronaut.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
              "coins.png", "moon.png", "hubble_deep_field.jpg", "grass.png", "gravel.png", "brick.png",
              "retina.jpg", "cell.png", "ihc.png", "motorcycle_right.png", "clock_motion.png"]
    for file in photos:
        photo = Image.open(folder / file).convert("RGB")
        groups["photographs"].append(prepared(photo))
        width, height = photo.size
        for _ in range(3):  # and three square crops of it, 40-80% of its short side
            u, v, w = torch.rand(3, generator=generator).tolist()
            side = int(min(width, height) * (0.4 + 0.4 * w))
            x, y = int((width - side) * u), int((height - side) * v)
            groups["photographs"].append(prepared(photo.crop((x, y, x + side, y + side))))
    for file in ("text.png", "page.png"):
        groups["text"].append(prepared(Image.open(folder / file).convert("RGB")))
    for i, words in enumerate(["Hello", "GAN", "cat", "Lorem ipsum", "x = 3", "shirt", "TEXT", "abc", "Paris", "42",
                               "VAE lab", "dog"]):
        page = Image.new("L", (200, 120), 255)
        ImageDraw.Draw(page).text((10, 30), words, fill=0, font=ImageFont.load_default(size=30 + 5 * (i % 4)))
        groups["text"].append(prepared(page))
    shapes = [
        lambda d: d.polygon([(60, 20), (90, 30), (110, 30), (140, 20), (180, 60), (160, 80), (140, 65), (140, 180),
                             (60, 180), (60, 65), (40, 80), (20, 60)], outline=0, width=3),  # a shirt's outline
        lambda d: d.ellipse((30, 30, 170, 170), outline=0, width=4),
        lambda d: d.rectangle((40, 60, 160, 140), outline=0, width=4),
        lambda d: d.polygon([(100, 20), (180, 180), (20, 180)], outline=0, width=4),
        lambda d: (d.rectangle((50, 90, 150, 180), outline=0, width=3),
                   d.polygon([(40, 90), (100, 30), (160, 90)], outline=0, width=3)),  # a house
        lambda d: (d.ellipse((80, 20, 120, 60), outline=0, width=3), d.line((100, 60, 100, 130), fill=0, width=3),
                   d.line((100, 130, 70, 180), fill=0, width=3), d.line((100, 130, 130, 180), fill=0, width=3),
                   d.line((60, 90, 140, 90), fill=0, width=3)),  # a stick figure
    ]
    for turn in (0, 1):
        for draw in shapes:
            sheet = Image.new("L", (200, 200), 255)
            draw(ImageDraw.Draw(sheet))
            groups["line drawings"].append(prepared(sheet.rotate(40 * turn, fillcolor=255)))
    for file in ("horse.png", "logo.png"):
        groups["line drawings"].append(prepared(Image.open(folder / file).convert("RGB")))
    ramp = np.linspace(0, 1, 256)
    rows, columns = np.mgrid[0:256, 0:256]
    for i in range(12):  # 16-bit gradients: left-right, top-bottom, radial; four turns each
        values = [np.tile(ramp, (256, 1)), np.tile(ramp[:, None], (1, 256)),
                  np.hypot(columns - 128, rows - 128) / 181][i % 3]
        groups["gradients"].append(prepared(Image.fromarray((np.rot90(values, i // 3) * 65535).astype(np.uint16))))
    return {name: torch.stack(pictures) for name, pictures in groups.items()}


@needs_fashion
def test_the_familiarity_check_flags_other_pictures_at_the_rates_the_page_quotes(fashion):
    classifier = load_classifier(familiarity_classifier_path(CHECKPOINTS, "fashion-mnist")).model
    familiar = fit_familiarity(embed(classifier, fashion.train_x[:FAMILIAR_TRAIN]),
                               embed(classifier, fashion.test_x[:FAMILIAR_TEST]))  # as cache.familiarity
    assert familiar.held_out_flagged <= FLAGGED_TEST_AT_MOST  # test images the threshold never saw
    for group, pictures in unlike_fashion().items():
        flagged = (familiar.ratios(embed(classifier, pictures)) > 1).float().mean().item()
        assert flagged >= FLAGGED_AT_LEAST[group], (group, flagged)


# --- names are plain text -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["🧪 my ae", "a > b; rm -rf ~", "$(whoami)", "x\ny"])
def test_the_reproduce_command_survives_the_shell_whatever_the_name(name):
    import dataclasses

    info = dataclasses.replace(load_checkpoint(CHECKPOINTS / "ae-mlp-32.safetensors").info, name=name)
    command = reproduce.train_command(info)
    words = shlex.split(command.splitlines()[-1])
    assert words[words.index("--out") + 1] == " ".join(name.split()) + ".safetensors"
    assert len(command.splitlines()) == 1


def test_markdown_shows_a_name_literally():
    from genmodels.ui.render import plain

    escaped = plain("**bold** [link](http://example.com) $x$ <b>")
    for syntax in ("**", "[link](", "http://", "$x$", "<b>"):
        assert syntax not in escaped
    assert escaped.replace("\\", "") == "**bold** [link](http://example.com) $x$ <b>"


FIRST_AND_LATER_LABELS = """
import json, torch
from genmodels.runtime import budget_threads_for_jobs, threads_per_job
from genmodels.serving.jobs import SLOTS
from genmodels.ui.status import device_label
first = device_label()  # the first page: before any job line has budgeted the threads
threads = threads_per_job(SLOTS.capacity)
budget_threads_for_jobs(SLOTS.capacity)  # what the job line does on every page
print(json.dumps([first, device_label(), threads, torch.get_num_threads()]))
"""


def test_the_sidebar_says_the_same_thread_count_on_the_first_page_as_later():
    """In a fresh process, as a server starts (this process's torch threads are other tests' state)."""
    result = subprocess.run([sys.executable, "-c", FIRST_AND_LATER_LABELS], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], timeout=120, env={**os.environ, "LANGUAGE": "en"})
    assert result.returncode == 0, result.stderr
    first, later, threads, in_force = json.loads(result.stdout.strip().splitlines()[-1])
    if "GPU" in first:
        pytest.skip("a GPU's name has no thread count")
    assert in_force == threads and f"{threads} thread" in first and later == first


@needs_fashion
def test_the_frechet_classifier_is_accurate_but_its_features_would_not_spot_photographs(fashion):
    """models/classifier.py: why the check has a classifier of its own. The Frechet distance's
    (a hidden layer over the maps) classifies better; its features miss most photographs."""
    frechet_classifier = load_classifier(classifier_path(CHECKPOINTS, "fashion-mnist"))
    pooled = load_classifier(familiarity_classifier_path(CHECKPOINTS, "fashion-mnist"))
    assert frechet_classifier.info.metrics["test_accuracy"] >= 0.9 > pooled.info.metrics["test_accuracy"]
    model = frechet_classifier.model
    familiar = fit_familiarity(embed(model, fashion.train_x[:FAMILIAR_TRAIN]),
                               embed(model, fashion.test_x[:FAMILIAR_TEST]))
    photographs = unlike_fashion()["photographs"]
    assert (familiar.ratios(embed(model, photographs)) > 1).float().mean().item() < 0.2
