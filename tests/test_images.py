"""The upload pipeline on awkward valid images and on bad ones, and zips of images as datasets."""

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from genmodels import images
from genmodels.errors import ImageRejected


def encoded(image: Image.Image, fmt: str, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def dark_square_on_white(mode="L", size=(60, 40)) -> Image.Image:
    picture = Image.new("L", size, 255)
    picture.paste(0, (20, 10, 40, 30))
    return picture.convert(mode)


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height grey pixels, with a tiny compressed body."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\0" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


AWKWARD_VALID = {
    "rgba.png": lambda: encoded(dark_square_on_white("RGBA"), "PNG"),
    "palette.png": lambda: encoded(dark_square_on_white("P"), "PNG"),
    "one_bit.png": lambda: encoded(dark_square_on_white("1"), "PNG"),
    "sixteen_bit.png": lambda: encoded(Image.fromarray((np.arange(400 * 3).reshape(30, 40) * 50).astype(np.uint16)),
                                       "PNG"),
    "cmyk.jpg": lambda: encoded(dark_square_on_white("CMYK"), "JPEG"),
    "photo.webp": lambda: encoded(dark_square_on_white("RGB"), "WEBP"),
    "old.bmp": lambda: encoded(dark_square_on_white("RGB"), "BMP"),
    "tiny.png": lambda: encoded(Image.new("L", (1, 1), 200), "PNG"),
    "very_wide.png": lambda: encoded(Image.new("L", (3000, 3), 30), "PNG"),
    "animated.gif": lambda: encoded(dark_square_on_white("P"), "GIF", save_all=True,
                                    append_images=[Image.new("P", (60, 40), 3)], duration=100),
}


@pytest.mark.parametrize("name", list(AWKWARD_VALID))
def test_awkward_valid_images_become_28x28_tensors(name):
    prepared = images.prepare_image(name, AWKWARD_VALID[name]())
    assert prepared.tensor.shape == (1, 28, 28) and prepared.tensor.dtype == torch.float32
    assert 0 <= prepared.tensor.min() and prepared.tensor.max() <= 1
    assert [label for label, _ in prepared.steps][0] == "uploaded" and prepared.steps[-1][0] == "28x28"


def test_a_light_background_is_inverted_so_the_object_is_light_on_dark():
    prepared = images.prepare_image("square.png", encoded(dark_square_on_white(), "PNG"))
    assert prepared.inverted
    assert prepared.tensor[0, 0, 0] < 0.1 and prepared.tensor[0, 14, 14] > 0.9  # dark corner, bright centre
    kept = images.prepare_image("square.png", encoded(dark_square_on_white(), "PNG"), invert=False)
    assert not kept.inverted and kept.tensor[0, 14, 14] < 0.1


def test_transparent_pixels_count_as_white_background():
    picture = Image.new("RGBA", (30, 30), (0, 0, 0, 0))  # fully transparent
    picture.paste((0, 0, 0, 255), (10, 10, 20, 20))
    prepared = images.prepare_image("alpha.png", encoded(picture, "PNG"))
    assert prepared.inverted and prepared.tensor[0, 14, 14] > 0.9


def test_exif_orientation_is_applied():
    tall = Image.new("L", (20, 60), 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    prepared = images.prepare_image("rotated.jpg", encoded(tall, "JPEG", exif=exif.tobytes()))
    grey = dict(prepared.steps)["grey"]
    assert grey.width > grey.height


@pytest.mark.parametrize("name, payload, reason", [
    ("empty.png", b"", "empty.png: the file is empty"),
    ("page.png", b"<html><body>not an image</body></html>", "page.png: not an image in a supported format"),
    ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "drawing.svg: not an image"),
    ("bomb.png", png_bomb(100_000, 100_000), "bomb.png: its header claims more pixels than the limit of 40"),
    ("huge.png", png_bomb(50_000, 1_000), "50000x1000 pixels is over the limit"),
])
def test_bad_files_are_refused_with_a_message_naming_the_file(name, payload, reason):
    with pytest.raises(ImageRejected, match=reason):
        images.prepare_image(name, payload)


def test_a_truncated_image_is_refused():
    data = encoded(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)), "PNG")
    with pytest.raises(ImageRejected, match="truncated.png: .*(truncated|corrupt|cannot be read)"):
        images.prepare_image("truncated.png", data[: len(data) // 2])


def test_an_oversized_file_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 100)
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64), dtype=np.uint8))
    with pytest.raises(ImageRejected, match="big.png: .* MiB is over the .* MiB limit per image"):
        images.prepare_image("big.png", encoded(noise, "PNG"))


def make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_zip_of_images_becomes_a_labelled_dataset_and_bad_files_are_reported():
    good = encoded(dark_square_on_white(), "PNG")
    files = {f"shirts/{i}.png": good for i in range(12)} | {f"shoes/{i}.png": good for i in range(12)}
    files |= {"shoes/readme.txt": b"hello", "../../escape.png": good, "__MACOSX/._x.png": b"junk"}
    result = images.dataset_from_zip(make_zip(files))
    data = result.dataset
    assert result.images_found == 24 and len(data.train_x) + len(data.test_x) == 24
    assert data.train_x.shape[1:] == (1, 28, 28) and data.class_names == ("shirts", "shoes")
    assert any("readme.txt" in p for p in result.problems) and any("unsafe path" in p for p in result.problems)
    assert not any("__MACOSX" in p for p in result.problems)


def test_a_zip_with_too_few_images_or_not_a_zip_is_refused():
    with pytest.raises(ImageRejected, match="not a valid zip"):
        images.dataset_from_zip(b"PK\x03\x04 definitely not a zip")
    few = make_zip({f"{i}.png": encoded(dark_square_on_white(), "PNG") for i in range(3)})
    with pytest.raises(ImageRejected, match="holds 3 usable images; at least 16"):
        images.dataset_from_zip(few)


def test_a_zip_with_thousands_of_entries_does_bounded_work(monkeypatch):
    monkeypatch.setattr(images, "MAX_ZIP_FILES", 50)
    good = encoded(Image.new("L", (8, 8), 0), "PNG")
    result = images.dataset_from_zip(make_zip({f"deep/a/b/c/{i}.png": good for i in range(300)}))
    assert result.images_found == 50
    assert "only the first 50 were looked at" in result.problems[0]


def test_a_zip_declaring_too_many_entries_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(images, "MAX_ZIP_ENTRIES", 5)
    with pytest.raises(ImageRejected, match="lists 10 entries; at most 5"):
        images.dataset_from_zip(make_zip({f"{i}.png": b"x" for i in range(10)}))


def test_entries_that_fail_their_crc_still_use_up_the_byte_budget(monkeypatch):
    good = encoded(Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 64), dtype=np.uint8)), "PNG")
    data = bytearray(make_zip({f"{i}.png": good for i in range(30)}))
    # Corrupt every stored CRC-32 (local headers and central directory) so each read fails at its end.
    for signature, offset in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            data[start + offset:start + offset + 4] = b"\0\0\0\0"
            start += 4
    monkeypatch.setattr(images, "MAX_ZIP_TOTAL_BYTES", 5 * len(good))
    with pytest.raises(ImageRejected, match="0 usable images") as error:
        images.dataset_from_zip(bytes(data))
    assert "cannot be extracted" in str(error.value)
    # Only five entries could be read before the budget ran out; the rest were skipped unread.


def test_the_zip_pixel_budget_bounds_decoding_work(monkeypatch):
    picture = encoded(Image.new("L", (100, 100), 0), "PNG")  # 10,000 pixels each
    monkeypatch.setattr(images, "MAX_ZIP_TOTAL_PIXELS", 20 * 10_000)
    result = images.dataset_from_zip(make_zip({f"{i}.png": picture for i in range(25)}))
    assert result.images_found == 20
    assert sum("megapixels is used up" in p for p in result.problems) == 5


def test_a_big_photo_is_shrunk_while_decoding():
    photo = encoded(Image.new("RGB", (4000, 3000), (200, 200, 200)), "JPEG")
    image = images.open_untrusted("photo.jpg", photo)
    assert max(image.size) <= 2 * images.WORKING_SIZE
