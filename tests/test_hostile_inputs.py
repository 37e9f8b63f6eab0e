"""Hostile and awkward inputs through the real upload paths and widgets of every page (AppTest):
images, zips of images, checkpoints, and every numeric setting at its bounds and beyond. Valid
inputs work; bad ones get a message naming the file and the reason; nothing crashes, no work is
unbounded, no uploaded code runs."""

import json
import math
import re
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from genmodels import images
from genmodels.registry import listed_families

from .conftest import app_on, garment_png
from .test_checkpoints import bad_files, saved
from .test_images import AWKWARD_VALID, encoded, make_zip, png_bomb
from .test_jobs import wait_for

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------
# A corpus of images: awkward valid ones, and hostile ones with the reason each is refused
# --------------------------------------------------------------------------------------------


def shown(markdown: str) -> str:
    """What a reader sees of a message: the pages escape typed names for Markdown (render.plain)."""
    return re.sub(r"\\([\\`*_{}\[\]()#+\-!|<>$:~.])", r"\1", markdown)

def with_header_size(data: bytes, offset: int, fmt: str, width: int, height: int) -> bytes:
    """``data`` with the image size in its header replaced: a file that claims a huge size."""
    data = bytearray(data)
    data[offset:offset + struct.calcsize(fmt)] = struct.pack(fmt, *((height, width) if fmt == ">HH" else
                                                                    (width, height)))
    return bytes(data)


def jpeg_claiming(width: int, height: int) -> bytes:
    small = encoded(Image.new("L", (16, 16), 90), "JPEG")
    start_of_frame = small.find(b"\xff\xc0")
    return with_header_size(small, start_of_frame + 5, ">HH", width, height)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_with_text_bomb() -> bytes:
    """A valid 16x16 PNG carrying a compressed text chunk that inflates to 50 MB."""
    good = encoded(Image.new("L", (16, 16), 90), "PNG")
    bomb = png_chunk(b"zTXt", b"comment\0\0" + zlib.compress(b"A" * 50_000_000, 9))
    return good[:33] + bomb + good[33:]  # right after the IHDR chunk


def noise_png(size: int = 200) -> bytes:
    return encoded(Image.fromarray(np.random.default_rng(0).integers(0, 255, (size, size), dtype=np.uint8)), "PNG")


AWKWARD = {name: make() for name, make in AWKWARD_VALID.items()} | {
    "grey_alpha.png": encoded(Image.new("LA", (20, 20), (10, 200)), "PNG"),
    "really_a_jpeg.png": encoded(Image.new("RGB", (20, 20), (10, 200, 30)), "JPEG"),
    "flat_16_bit.png": encoded(Image.fromarray(np.full((20, 20), 777, dtype=np.uint16)), "PNG"),
    "progressive.jpg": encoded(Image.new("RGB", (64, 64), (200, 10, 10)), "JPEG", progressive=True),
    "300_frames.gif": encoded(Image.new("P", (30, 30), 1), "GIF", save_all=True,
                              append_images=[Image.new("P", (30, 30), i % 250) for i in range(300)]),
    "animated.png": encoded(Image.new("RGB", (30, 30)), "PNG", save_all=True,
                            append_images=[Image.new("RGB", (30, 30), (255, 0, 0))]),
    "animated.webp": encoded(Image.new("RGB", (30, 30)), "WEBP", save_all=True,
                             append_images=[Image.new("RGB", (30, 30), (255, 0, 0))]),
    "36_megapixels_of_black.png": encoded(Image.new("L", (6000, 6000), 0), "PNG"),  # 35 KB, under the cap
    "big_16_bit.png": encoded(Image.fromarray(np.tile(np.linspace(0, 65535, 2100), (1100, 1)).astype(np.uint16)),
                              "PNG"),  # shrunk while decoding, which 16-bit images once crashed
    "palette_with_alpha.png": encoded(Image.new("PA", (20, 20)).convert("P"), "PNG", transparency=0),
}

NOT_SUPPORTED = "not an image in a supported format"
BOMB = "more pixels than the limit"
HOSTILE = {  # name -> (bytes, what the message must say)
    "empty.png": (b"", "the file is empty"),
    "truncated.png": (noise_png()[:3000], "truncated or corrupt"),
    "notes.png": (b"just some text, not a picture", NOT_SUPPORTED),
    "page.jpg": (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", NOT_SUPPORTED),
    "drawing.png": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', NOT_SUPPORTED),
    "polyglot.gif": (b"GIF89a<script>alert(1)</script>", NOT_SUPPORTED),
    "report.png": (b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF", NOT_SUPPORTED),
    "archive.png": (b"PK\x03\x04" + b"\0" * 100, NOT_SUPPORTED),
    "scan.png": (encoded(Image.new("L", (16, 16)), "TIFF"), NOT_SUPPORTED),
    "png_bomb.png": (png_bomb(100_000, 100_000), BOMB),
    "jpeg_bomb.jpg": (jpeg_claiming(65_000, 65_000), BOMB),
    "gif_bomb.gif": (with_header_size(encoded(Image.new("P", (16, 16), 1), "GIF"), 6, "<HH", 65_000, 65_000),
                     BOMB),
    "bmp_bomb.bmp": (with_header_size(encoded(Image.new("L", (16, 16), 90), "BMP"), 18, "<ii", 50_000, 50_000),
                     BOMB),
    "huge.png": (png_bomb(50_000, 1_000), "50000x1000 pixels is over the limit"),
    "text_bomb.png": (png_with_text_bomb(), "cannot be read as an image"),
}


def uploads(files: dict[str, bytes]) -> list[tuple[str, bytes, str]]:
    return [(name, data, "image/png") for name, data in files.items()]


def test_the_corpus_is_what_it_claims():
    """Every hostile file is refused by the library with its reason, every awkward one accepted."""
    for name, (data, reason) in HOSTILE.items():
        with pytest.raises(images.ImageRejected, match=reason):
            images.prepare_image(name, data)
    for name, data in AWKWARD.items():
        prepared = images.prepare_image(name, data)
        assert prepared.tensor.shape == (1, 28, 28)
        # Every step is shown to the student: st.image can only write 8-bit L, RGB and RGBA.
        assert {picture.mode for _, picture in prepared.steps} <= {"L", "RGB", "RGBA"}, name


# --------------------------------------------------------------------------------------------
# Images through the Denoising lab and the VAE explorer
# --------------------------------------------------------------------------------------------

def test_denoising_lab_denoises_every_awkward_image_and_refuses_every_hostile_one():
    app = app_on("pages/denoising.py")
    app.file_uploader(key="dn_upload").set_value(uploads(AWKWARD | {n: d for n, (d, _) in HOSTILE.items()})).run()
    assert not app.exception
    errors = [shown(e.value) for e in app.error]
    assert len(errors) == len(HOSTILE)
    for (name, (_, reason)), error in zip(HOSTILE.items(), errors):
        assert error.startswith(f"{name}: ") and reason in error, error
    downloads = [str(d.proto) for d in app.get("download_button")]
    for name in AWKWARD:
        assert sum(f"Download the denoised {name}" in d for d in downloads) == 1, name


def test_vae_explorer_places_awkward_images_and_refuses_hostile_ones():
    app = app_on("pages/vae_explorer.py")
    names = list(AWKWARD) + list(HOSTILE)
    files = AWKWARD | {n: d for n, (d, _) in HOSTILE.items()}
    for first, second in zip(names[0::2], names[1::2] + names[:1]):  # the page takes two at a time
        app.file_uploader(key="vae_upload").set_value(uploads({first: files[first], second: files[second]})).run()
        assert not app.exception, (first, second)
        refused = [name for name in (first, second) if name in HOSTILE]
        assert [shown(e.value).split(":")[0] for e in app.error] == refused
        for name in refused:
            assert any(HOSTILE[name][1] in shown(e.value) for e in app.error)
        placed = [name for name in (first, second) if name in AWKWARD]
        assert sum("what the VAE makes of it" in str(i.proto) for i in app.get("image")) == len(placed)


# --------------------------------------------------------------------------------------------
# Zips of images through the Train page
# --------------------------------------------------------------------------------------------

TINY = encoded(Image.new("L", (8, 8), 0), "PNG")
GOOD = {f"garments/{i}.png": garment_png(i * 10) for i in range(16)}


def lying_zip() -> bytes:
    """One entry whose directory says 1,000 bytes while it inflates to 20 MB."""
    data = bytearray(make_zip({"liar.png": b"\0" * 20_000_000}))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size fields
        at = data.find(signature)
        data[at + offset:at + offset + 4] = struct.pack("<I", 1000)
    return bytes(data)


def encrypted_entry_zip(files: dict[str, bytes]) -> bytes:
    """``files`` with the "encrypted" flag set on the entry named secret.png."""
    data = bytearray(make_zip(files))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # general purpose flags
        start = 0
        while (start := data.find(signature, start)) >= 0:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at:name_at + 10] == b"secret.png":
                data[start + offset] |= 1
            start += 4
    return bytes(data)


def deep(i: int) -> str:
    return "/".join(f"level{j}" for j in range(1 + i % 40)) + f"/{i}.png"


ZIPS = {  # name -> (zip bytes, a message shown, the images it yields or None when refused)
    "thousands.zip": (make_zip({deep(i): TINY for i in range(2500)}),
                      "only the first 2000 were looked at", 2000),
    "ten_thousand_entries.zip": (make_zip({f"{i}.png": b"" for i in range(10_001)}),
                                 "the zip lists 10,001 entries; at most 10,000", None),
    "bomb.zip": (make_zip(GOOD | {"bomb.png": b"\0" * 30_000_000}), "bomb.png: 28.6 MiB is over the size limit", 16),
    "liar.zip": (lying_zip(), "liar.png: cannot be extracted (Bad CRC-32", None),
    "paths.zip": (make_zip(GOOD | {"../escape.png": TINY, "/etc/passwd.png": TINY, "..\\..\\windows.png": TINY,
                                   "a/../../b.png": TINY}), "../escape.png: unsafe path, skipped", 16),
    "non_images.zip": (make_zip(GOOD | {"readme.txt": b"hello", "page.png": HOSTILE["page.jpg"][0],
                                        "bomb.png": png_bomb(100_000, 100_000), "inner.zip": make_zip(GOOD),
                                        "n" * 60_000 + ".png": b"junk"}), "page.png: not an image", 16),
    "encrypted.zip": (encrypted_entry_zip(GOOD | {"secret.png": TINY}), "secret.png: cannot be extracted", 16),
    "empty.zip": (make_zip({}), "the zip holds 0 usable images; at least 16", None),
    "not_a.zip": (b"%PDF-1.4 definitely not a zip", "not a valid zip", None),
    "truncated.zip": (make_zip(GOOD)[:-30], "not a valid zip", None),
}


def test_the_train_page_handles_every_kind_of_awkward_zip():
    app = app_on("pages/train.py")
    app.selectbox(key="train_dataset_ae").select("your-images").run()
    for name, (data, message, found) in ZIPS.items():
        app.file_uploader(key="train_zip").upload(name, data, "application/zip").run()
        assert not app.exception, name
        texts = ([shown(e.value) for e in app.error] + [shown(s.value) for s in app.success]
                 + [t.value for t in app.get("text")])
        assert any(message in text for text in texts), (name, texts)
        assert all(len(text) < 5_000 for text in texts), f"{name}: a message quotes too much"
        if found is None:
            assert any(f"{name} cannot be used" in shown(e.value) for e in app.error), name
        else:
            assert any(shown(s.value).startswith(f"{found} images from {name}") for s in app.success), (name, texts)
    # None of it started anything, and the last (refused) upload does not let training start.
    app.button(key="train_start").click().run()
    assert "genlab_job" not in app.session_state


def test_a_zip_with_more_folders_than_classes_makes_one_class():
    result = images.dataset_from_zip(make_zip({f"folder{i}/{i}.png": TINY for i in range(150)}))
    assert result.dataset.class_names == ("image",)
    assert result.problems[0].startswith("the images are in 150 folders, too many to be classes")


def test_long_names_are_elided_in_messages():
    result = images.dataset_from_zip(make_zip(GOOD | {"n" * 60_000 + ".png": b"junk"}))
    (problem,) = result.problems
    assert len(problem) < 200 and "nnn...nnn" in problem


# --------------------------------------------------------------------------------------------
# Checkpoints through the Models page
# --------------------------------------------------------------------------------------------

def test_the_models_page_refuses_every_bad_checkpoint_and_runs_no_code(sprites_small, tmp_path):
    _, _, good = saved("vae", sprites_small)
    app = app_on("pages/models.py")
    table_before = list(app.dataframe[0].value["model"])
    for name, (payload, reason) in bad_files(good, tmp_path).items():
        file_name = name.replace(" ", "_") + ".safetensors"
        app.file_uploader(key="models_upload").upload(file_name, payload, "application/octet-stream").run()
        assert not app.exception, name
        refusals = [shown(e.value) for e in app.error if shown(e.value).startswith(f"{file_name} was refused: ")]
        assert len(refusals) == 1, (name, [shown(e.value) for e in app.error])
        assert re.search(reason, refusals[0]), (name, refusals[0])
    assert list(app.dataframe[0].value["model"]) == table_before
    assert not app.session_state["genlab_models"]
    assert not (tmp_path / "pwned").exists()  # the pickle's payload never ran


def test_the_models_page_refuses_a_file_over_the_cap_before_reading_it(sprites_small, monkeypatch):
    from genmodels import checkpoints

    _, _, good = saved("vae", sprites_small)
    monkeypatch.setattr(checkpoints, "MAX_CHECKPOINT_BYTES", len(good) - 1)
    app = app_on("pages/models.py")
    app.file_uploader(key="models_upload").upload("big.safetensors", good, "application/octet-stream").run()
    assert any(shown(e.value).startswith("big.safetensors was refused:") and "checkpoints over" in shown(e.value)
               for e in app.error)


GIGABYTE_HEADER = textwrap.dedent("""
    # A header whose (valid) config and shapes describe a model of about 500 MB, in a 60 KB file.
    import json, resource, struct, sys
    from genmodels import checkpoints
    from genmodels.errors import CheckpointError

    config = {"arch": "mlp", "channels": 3, "image_size": 32, "hidden": [4096] * 4, "latent_dim": 512,
              "beta": 1.0}
    info = {"format_version": 1, "family": "vae", "model_config": config, "train_config": None}
    info = checkpoints.parse_info({"__metadata__": {"genmodels": json.dumps(info)}})
    header, offset = {"__metadata__": {"genmodels": json.dumps(info.to_json())}}, 0
    for name, (dtype, shape) in checkpoints.expected_tensors(info).items():
        size = 4
        for n in shape:
            size *= n
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    data = struct.pack("<Q", len(raw)) + raw + b"\\0" * 4096
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        checkpoints.read_checkpoint(data)
        print("accepted")
    except CheckpointError as error:
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        print(json.dumps({"model_mb": offset / 2**20, "grown_mb": grown, "error": str(error)}))
""")


def test_a_header_describing_a_huge_model_is_refused_without_allocating_it():
    out = subprocess.run([sys.executable, "-c", GIGABYTE_HEADER], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["model_mb"] > 400
    assert "tensor data" in result["error"] or "offsets" in result["error"]
    assert result["grown_mb"] < 100, result  # nothing near the model's size was allocated


# --------------------------------------------------------------------------------------------
# Every numeric setting at its bounds and beyond
# --------------------------------------------------------------------------------------------

def numeric_widgets(app: AppTest) -> dict[str, tuple[float, float, bool]]:
    """key -> (min, max, whole numbers only) of every keyed number input and slider on the page
    (single-valued)."""
    found = {}
    for widget in list(app.number_input) + list(app.slider):
        if widget.key and not isinstance(widget.value, (tuple, list)):
            found[widget.key] = (widget.min, widget.max, isinstance(widget.value, int))
    return found


def set_all(app: AppTest, widgets: dict, pick) -> None:
    for key, (low, high, whole) in widgets.items():
        value = pick(low, high)
        if value is not None and not (whole and not math.isfinite(value)):
            app.session_state[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]


def in_bounds(app: AppTest, widgets: dict) -> None:
    now = numeric_widgets(app)
    for key, (low, high, _) in widgets.items():
        if key in now:
            value = next(w.value for w in list(app.number_input) + list(app.slider) if w.key == key)
            assert math.isfinite(value) and low <= value <= high, (key, value)


# Whole-number inputs are not sent NaN or infinity: Streamlit 1.67's own number_input deserializer
# calls int(value) before its range check, so such a value (which its frontend can never send)
# fails inside Streamlit, in that one session's script run, before any app code runs.
BEYOND = [
    ("far above", lambda low, high: high * 1000 + 10**9),
    ("far below", lambda low, high: low - 10**9),
    ("not a number", lambda low, high: float("nan")),
    ("infinite", lambda low, high: float("inf")),
    ("minus infinity", lambda low, high: float("-inf")),
]


PAGES = [  # (page, widgets to show first: key -> value)
    ("pages/denoising.py", {}),
    ("pages/vae_explorer.py", {}),
    ("pages/vae_explorer.py", {"vae_model": "vae-fashion-20d (shipped)", "vae_hold": "a test image's code"}),
    ("pages/autoencoders.py", {}),
    ("pages/models.py", {"models_compare": ["vae-fashion-2d (shipped)"]}),
]


@pytest.mark.parametrize("page, shown", PAGES, ids=[f"{p.split('/')[1]}-{i}" for i, (p, _) in enumerate(PAGES)])
def test_every_numeric_setting_at_its_bounds_and_beyond(page, shown):
    app = app_on(page)
    for key, value in shown.items():
        app.session_state[key] = value
    app.run()
    widgets = numeric_widgets(app)
    assert widgets, "no numeric settings found"
    set_all(app, widgets, lambda low, high: low)
    set_all(app, widgets, lambda low, high: high)
    for _, beyond in BEYOND:
        set_all(app, widgets, beyond)
        in_bounds(app, widgets)


@pytest.mark.parametrize("family", list(listed_families()))
def test_training_settings_at_their_bounds_start_or_explain_and_beyond_them_are_clamped(family):
    app = app_on("pages/train.py", train_family=family)
    dataset = next(o for o in app.selectbox(key=f"train_dataset_{family}").options if o.startswith("sprites")
                   or o.startswith("toy-ring"))
    app.selectbox(key=f"train_dataset_{family}").select(dataset.split(":")[0]).run()
    widgets = numeric_widgets(app)
    assert f"train_epochs_{family}" in widgets
    for pick in (lambda low, high: low, lambda low, high: high):
        set_all(app, widgets, pick)
        app.select_slider(key=f"train_batch_{family}").set_value(pick(16, 1024))
        app.select_slider(key=f"train_lr_{family}").set_value(pick(1e-5, 1e-2))
        app.button(key="train_start").click().run()
        assert not app.exception, [e.value for e in app.exception]
        job = app.session_state["genlab_job"] if "genlab_job" in app.session_state else None
        if job is None:  # refused: then with a message saying why
            assert any(e.value.startswith("Could not start:") for e in app.error)
        else:  # it starts training (or ends at once, with a message)
            try:
                wait_for(lambda job=job: job.view().total_steps > 0 or not job.view().active, timeout=120)
                assert job.view().total_steps > 0 or (job.view().state == "failed" and job.view().message)
            finally:
                job.stop()
                assert job.wait(120)
            del app.session_state["genlab_job"]
    for _, beyond in BEYOND:
        set_all(app, widgets, beyond)
        in_bounds(app, widgets)
