"""Image helpers: tensors in [0, 1] -> PIL images and grids for display and download, and
untrusted uploads -> validated tensors shaped like the training data."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from genmodels.errors import ImageRejected
from genmodels.i18n import L_, LazyText, Listed
from genmodels.runtime import env_int, env_number

if TYPE_CHECKING:
    from genmodels.data import Dataset


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) floats in [0, 1] -> (N, H, W, C) uint8."""
    array = (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
    return array.permute(0, 2, 3, 1).cpu().numpy()


def grid(images: torch.Tensor, columns: int | None = None, padding: int = 2, scale: int = 1) -> Image.Image:
    """Tile (N, C, H, W) images in [0, 1] into one picture, ``columns`` wide (default: square-ish),
    with ``padding`` dark pixels between tiles, each pixel enlarged ``scale`` times (nearest
    neighbour, so pixels stay crisp)."""
    n, c, h, w = images.shape
    columns = columns or max(1, int(np.ceil(np.sqrt(n))))
    rows = int(np.ceil(n / columns))
    tiles = to_uint8(images)  # (N, H, W, C)
    canvas = np.zeros((rows * (h + padding) + padding, columns * (w + padding) + padding, c), dtype=np.uint8)
    for i in range(n):
        top, left = padding + (i // columns) * (h + padding), padding + (i % columns) * (w + padding)
        canvas[top:top + h, left:left + w] = tiles[i]
    picture = Image.fromarray(canvas[..., 0] if c == 1 else canvas)  # (H, W) -> "L", (H, W, 3) -> "RGB"
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    return picture


def rows_grid(rows: torch.Tensor | list[torch.Tensor], padding: int = 2, scale: int = 1) -> Image.Image:
    """(R, N, C, H, W), or a list of R batches of N images -> one picture with R rows of N images
    (e.g. inputs over reconstructions)."""
    rows = torch.stack([r.detach().float().cpu() for r in rows]) if isinstance(rows, list) else rows
    r, n = rows.shape[:2]
    return grid(rows.reshape(r * n, *rows.shape[2:]), columns=n, padding=padding, scale=scale)


def strip(parts: list[torch.Tensor], padding: int = 2, scale: int = 1) -> Image.Image:
    """Batches of images (N_i, C, H, W) laid end to end in one row."""
    images = torch.cat([p.detach().float().cpu() for p in parts])
    return grid(images, columns=len(images), padding=padding, scale=scale)


# --------------------------------------------------------------------------------------------
# Untrusted uploads -> validated 28x28 grey tensors
# --------------------------------------------------------------------------------------------

MAX_IMAGE_BYTES = int(env_number("GENLAB_MAX_IMAGE_MB", 10, 0.001, 1024) * 1024 * 1024)
MAX_IMAGE_PIXELS = env_int("GENLAB_MAX_IMAGE_PIXELS", 40_000_000, 1)  # 40 MP, e.g. 8000x5000
ALLOWED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP", "BMP": "BMP", "GIF": "GIF"}
MODEL_SIZE = 28
WORKING_SIZE = 512  # big uploads are shrunk to about this many pixels a side before processing


@dataclass(frozen=True)
class PreparedImage:
    name: str
    tensor: torch.Tensor  # (1, 28, 28) in [0, 1], light object on a dark background
    steps: tuple[tuple[str, Image.Image], ...]  # each preprocessing step, for a student to see
    inverted: bool


def open_untrusted(name: str, data: bytes, max_pixels: int | None = None) -> Image.Image:
    """Open image bytes whatever the file name claims, refusing (with ImageRejected naming the
    file) anything empty, oversized, not an image, of an unsupported format, or truncated. The
    pixel count is read from the header and checked before any pixel is decoded, so a
    decompression bomb (tiny file, gigapixels) costs nothing. Big images are decoded at reduced
    scale where the format allows (JPEG) and shrunk right after decoding otherwise: everything
    ends up 28x28 anyway."""
    max_pixels = max_pixels or MAX_IMAGE_PIXELS
    if not data:
        raise ImageRejected(L_("{file}: the file is empty", file=name))
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRejected(L_("{file}: {size} MiB is over the {limit} MiB limit per image; shrink it and upload again",
                               file=name, size=f"{len(data) / 2**20:.1f}", limit=f"{MAX_IMAGE_BYTES / 2**20:g}"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except UnidentifiedImageError:
        raise ImageRejected(L_("{file}: not an image in a supported format ({formats})", file=name,
                               formats=Listed(ALLOWED_FORMATS.values()))) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(L_("{file}: its header claims more pixels than the limit of {limit} megapixels (a "
                               "decompression bomb?); refused", file=name, limit=f"{max_pixels / 1e6:g}")) from None
    except (OSError, ValueError) as error:
        raise ImageRejected(L_("{file}: cannot be read as an image ({error})", file=name, error=error)) from None
    width, height = image.size
    if width * height > max_pixels or width < 1 or height < 1:
        raise ImageRejected(L_("{file}: {width}x{height} pixels is over the limit of {limit} megapixels; resize it and "
                               "upload again", file=name, width=width, height=height, limit=f"{max_pixels / 1e6:g}"))
    try:
        image.seek(0)  # animated GIF / WebP: the first frame
        if image.format == "JPEG":
            image.draft(image.mode, (WORKING_SIZE, WORKING_SIZE))  # decode at 1/2, 1/4 or 1/8 scale
        image.load()
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as error:
        raise ImageRejected(L_("{file}: the image data is truncated or corrupt ({error})", file=name,
                               error=error)) from None
    factor = max(image.size) // WORKING_SIZE
    if factor >= 2:
        if image.mode.startswith("I;16"):
            image = image.convert("I")  # reduce() has no 16-bit mode; 32-bit keeps every level
        if image.mode not in ("P", "1"):  # palette and 1-bit images are converted first
            image = image.reduce(factor)
    return image


def to_grey(image: Image.Image) -> Image.Image:
    """Any mode -> 8-bit grey ("L"). Transparent pixels become white (as on a web page); 16-bit
    images are scaled down, not clipped; CMYK goes through RGB."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255 if high > low else np.zeros_like(array)
        return Image.fromarray(scaled.round().astype(np.uint8))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image.convert("RGBA"))
    return image if image.mode == "L" else image.convert("RGB").convert("L")


def border_level(grey: Image.Image) -> float:
    """The median of the outermost pixels, in [0, 1]: the background's brightness."""
    array = np.asarray(grey, dtype=np.float32) / 255
    border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    return float(np.median(border))


def prepare_image(name: str, data: bytes, invert: bool | None = None, max_pixels: int | None = None,
                  keep_steps: bool = True) -> PreparedImage:
    """Untrusted bytes -> a 28x28 grey tensor like the training data, with every step kept:
    orientation from EXIF, grey, padded to a square with the background level, inverted when the
    background is light (the datasets are light objects on black; ``invert`` forces it either way),
    resized to 28x28. ``keep_steps=False`` skips the thumbnails (for bulk uploads)."""
    image = open_untrusted(name, data, max_pixels)
    steps: list[tuple[str, Image.Image]] = []  # (a lazy label people read, the picture)

    def step(label: str, picture: Image.Image) -> None:
        if keep_steps:
            steps.append((label, thumbnail(picture)))

    step(L_("uploaded"), image)
    image = ImageOps.exif_transpose(image)
    grey = to_grey(image)
    step(L_("grey"), grey)
    background = border_level(grey)
    side = max(grey.size)
    square = Image.new("L", (side, side), round(background * 255))
    square.paste(grey, ((side - grey.width) // 2, (side - grey.height) // 2))
    step(L_("square"), square)
    should_invert = background > 0.5 if invert is None else invert
    if should_invert:
        square = ImageOps.invert(square)
        step(L_("inverted"), square)
    small = square.resize((MODEL_SIZE, MODEL_SIZE), Image.Resampling.LANCZOS)
    step("28x28", small.resize((112, 112), Image.Resampling.NEAREST))
    tensor = torch.from_numpy(np.asarray(small, dtype=np.float32) / 255).unsqueeze(0)  # (1, 28, 28)
    return PreparedImage(name=name, tensor=tensor, steps=tuple(steps), inverted=should_invert)


def thumbnail(image: Image.Image, size: int = 112) -> Image.Image:
    """A small copy in a mode any browser shows (st.image writes PNG or JPEG, which have no 16-bit,
    float or CMYK pictures): 16-bit and float images scaled to 8-bit grey, the rest to L, RGB or RGBA."""
    copy = image.copy()
    copy.thumbnail((size, size))
    if copy.mode in ("L", "RGB", "RGBA"):
        return copy
    if copy.mode in ("I", "F") or copy.mode.startswith("I;16"):
        return to_grey(copy)
    if copy.mode == "1":
        return copy.convert("L")
    return copy.convert("RGBA" if copy.mode in ("P", "PA", "LA", "La", "RGBa") else "RGB")


# --------------------------------------------------------------------------------------------
# A zip of the user's own images -> a dataset
# --------------------------------------------------------------------------------------------

MAX_ZIP_FILES = 2000  # entries looked at; the rest are ignored with a message
MAX_ZIP_ENTRIES = 10_000  # a zip listing more is refused before its directory is even parsed
MAX_ZIP_TOTAL_BYTES = 200 * 1024 * 1024  # uncompressed bytes read from one zip, in all
MAX_ZIP_IMAGE_PIXELS = 4_000_000  # per image in a zip (each becomes 28x28 anyway)
MAX_ZIP_TOTAL_PIXELS = 150_000_000  # decoded pixels per zip, in all: bounds the CPU time
MIN_IMAGES = 16
MAX_CLASSES = 100  # more folders than this are not classes, just folders: one class for all
MAX_REPORTED_PROBLEMS = 20
MAX_SHOWN_NAME = 80  # characters of a file name quoted in a message (zip names can be 64 KiB long)


@dataclass(frozen=True)
class ZipDataset:
    dataset: Dataset
    problems: tuple[str, ...]  # files skipped, and why (at most MAX_REPORTED_PROBLEMS, then a count)
    images_found: int


def dataset_from_zip(data: bytes, name: str = "your-images", seed: int = 0) -> ZipDataset:
    """A zip of images -> a 28x28 grey dataset (90% train, 10% test, shuffled with ``seed``).

    The zip is read in memory and never extracted, so names like ``../../etc/passwd`` cannot
    write anywhere; they are skipped all the same. Work is bounded: at most MAX_ZIP_FILES entries,
    each image under MAX_IMAGE_BYTES, MAX_ZIP_TOTAL_BYTES in all (sizes checked from the zip's
    directory before reading, and enforced while reading). Images in sub-folders are labelled by
    their folder; bad files are reported by name and skipped, the good ones kept."""
    import zipfile

    from genmodels.data import Dataset

    declared = zip_entry_count(data)
    if declared is not None and declared > MAX_ZIP_ENTRIES:
        raise ImageRejected(L_("the zip lists {count} entries; at most {limit} are accepted", count=f"{declared:,}",
                               limit=f"{MAX_ZIP_ENTRIES:,}"))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ImageRejected(L_("the upload is not a valid zip file ({error})", error=error)) from None
    problems: list[str] = []  # lazy texts: shown in the language of whoever reads them
    tensors, folders = [], []
    budget, pixel_budget = MAX_ZIP_TOTAL_BYTES, MAX_ZIP_TOTAL_PIXELS
    files = [e for e in entries if not e.is_dir()]
    if len(files) > MAX_ZIP_FILES:
        problems.append(L_("the zip holds {count} files; only the first {limit} were looked at", count=len(files),
                           limit=MAX_ZIP_FILES))
    for entry in files[:MAX_ZIP_FILES]:
        parts = entry.filename.replace("\\", "/").split("/")
        path = shown_name(entry.filename)
        if entry.filename.startswith(("/", "\\")) or ".." in parts:
            problems.append(L_("{file}: unsafe path, skipped", file=path))
            continue
        if parts[0] == "__MACOSX" or parts[-1].startswith("."):
            continue  # macOS resource forks and hidden files: not images, not worth a message
        if entry.file_size > MAX_IMAGE_BYTES or entry.file_size > budget:
            problems.append(L_("{file}: {size} MiB is over the size limit, skipped", file=path,
                               size=f"{entry.file_size / 2**20:.1f}"))
            continue
        # Charged before reading: zipfile never inflates more than the size the directory claims,
        # so a failed read (bad CRC, truncation) cannot dodge the budget.
        budget -= entry.file_size
        try:
            with archive.open(entry) as handle:
                content = handle.read(MAX_IMAGE_BYTES + 1)
            pixels = image_pixels(content)
            if pixels > pixel_budget:
                problems.append(L_("{file}: skipped, the zip's budget of {limit} megapixels is used up", file=path,
                                   limit=f"{MAX_ZIP_TOTAL_PIXELS / 1e6:g}"))
                continue
            pixel_budget -= pixels
            tensors.append(prepare_image(path, content, max_pixels=MAX_ZIP_IMAGE_PIXELS, keep_steps=False).tensor)
            folders.append(shown_name("/".join(parts[:-1])))
        except ImageRejected as error:
            problems.append(error.args[0] if error.args and isinstance(error.args[0], LazyText) else str(error))
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError, EOFError) as error:
            problems.append(L_("{file}: cannot be extracted ({error})", file=path, error=error))  # corrupt, encrypted
    found = len(tensors)
    if found < MIN_IMAGES:
        # (two messages, not ngettext: a lazy text has one msgid; Chinese has one form for both)
        holds = (L_("the zip holds {n} usable image; at least {minimum} are needed to train", n=found,
                    minimum=MIN_IMAGES) if found == 1 else
                 L_("the zip holds {n} usable images; at least {minimum} are needed to train", n=found,
                    minimum=MIN_IMAGES))
        raise ImageRejected(L_("{reason} (first problem: {problem})", reason=holds, problem=problems[0])
                            if problems else holds)
    if len(set(folders)) > MAX_CLASSES:
        problems.insert(0, L_("the images are in {count} folders, too many to be classes (at most {limit}); they are "
                              "all one class", count=len(set(folders)), limit=MAX_CLASSES))
        folders = [""] * len(folders)
    class_names = tuple(sorted(set(folders))) if len(set(folders)) > 1 else (L_("image"),)
    labels = torch.tensor([class_names.index(f) if len(class_names) > 1 else 0 for f in folders])
    images = torch.stack(tensors)  # (N, 1, 28, 28)
    order = torch.randperm(found, generator=torch.Generator().manual_seed(seed))
    n_test = max(1, found // 10)
    test, train = order[:n_test], order[n_test:]
    dataset = Dataset(name=name, kind="image", train_x=images[train], train_y=labels[train], test_x=images[test],
                      test_y=labels[test], class_names=class_names, source=L_("uploaded zip"))
    if len(problems) > MAX_REPORTED_PROBLEMS:
        problems = problems[:MAX_REPORTED_PROBLEMS] + [L_("... and {count} more",
                                                          count=len(problems) - MAX_REPORTED_PROBLEMS)]
    return ZipDataset(dataset=dataset, problems=tuple(problems), images_found=found)


def shown_name(name: str) -> str:
    """``name`` as quoted in a message: at most MAX_SHOWN_NAME characters, the middle elided."""
    if len(name) <= MAX_SHOWN_NAME:
        return name
    half = (MAX_SHOWN_NAME - 3) // 2
    return f"{name[:half]}...{name[-half:]}"


def image_pixels(data: bytes) -> int:
    """Width x height from an image's header (no pixel decoded); 0 if it is not a readable image
    (prepare_image then says why)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            width, height = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS)).size
        return width * height
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return 0


def zip_entry_count(data: bytes) -> int | None:
    """The entry count a zip's end-of-central-directory record declares (read without parsing the
    directory), 2**32 for ZIP64 archives, None if no record is found (zipfile will say why)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        return None
    total = int.from_bytes(data[end + 10:end + 12], "little")
    return 2**32 if total == 0xFFFF else total
