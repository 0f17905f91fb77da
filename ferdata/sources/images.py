"""Decode image files to 48x48 grayscale uint8, safely and on all cores.

One rule for every image ferdata reads (ingestion, prediction, the web page):
- turned upright by its EXIF orientation first (face boxes of a label file are in upright coordinates, as
  OpenCV's `imread` and every photo viewer show the photo);
- every Pillow mode becomes 8-bit: 16- and 32-bit integer images (I;16*, I) are scaled from 0..65535 (not
  clipped), float images (F) from 0..1 (or 0..255 when a value exceeds 1); transparency (LA, RGBA, P with a
  transparent colour) is composited over white, as a viewer shows it; 1, P, CMYK and YCbCr as Pillow converts;
- gray is Pillow's `convert("L")` (ITU-R 601-2 luma: L = 0.299 R + 0.587 G + 0.114 B).
Images of another size are resized with Pillow's LANCZOS filter, which antialiases when shrinking; 48x48
images are kept as they are, pixel for pixel.
"""

import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from rich.console import Console
from rich.progress import Progress

from ferdata.errors import FerdataError
from ferdata.store import IMAGE_SIDE

# Far above any face photo, far below what would exhaust memory: refused before decoding.
MAX_IMAGE_PIXELS = 50_000_000
RESAMPLING = Image.Resampling.LANCZOS
_TOO_LARGE = f"over the {MAX_IMAGE_PIXELS:,}-pixel limit (a possible decompression bomb)"


Box = tuple[int, int, int, int]  # left, top, right, bottom, in pixels


class Unreadable(Exception):
    """An image that cannot be read; the message is the one-line reason."""


class NotAnImage(Unreadable):
    """Bytes that no image format Pillow knows can open (a text file, say), as opposed to a damaged image."""


@contextlib.contextmanager
def opened(file: Path | BinaryIO) -> Iterator[Image.Image]:
    """The image in `file`, checked against `MAX_IMAGE_PIXELS`; any failure to read it, while opening or
    while decoding inside the block, becomes `Unreadable` with a one-line reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise Unreadable(f"{width}x{height} pixels, {_TOO_LARGE}")
                yield image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Unreadable(_TOO_LARGE) from None  # Pillow refuses the largest ones itself, before we see the size
    except FileNotFoundError:
        raise Unreadable("no such image file") from None
    except UnidentifiedImageError as exc:
        raise NotAnImage(f"not a readable image ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Unreadable(f"corrupt or truncated image ({exc})") from None


_HIGH_DEPTH = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA = ("LA", "La", "PA", "RGBA", "RGBa")


def eight_bit(image: Image.Image) -> Image.Image:
    """An open image, upright and in an 8-bit mode (L or RGB) by the rule of this module's docstring; `image`
    itself is turned upright (in place: no copy of an image that is upright already)."""
    ImageOps.exif_transpose(image, in_place=True)
    if image.mode in _HIGH_DEPTH or image.mode == "F":
        values = np.asarray(image.convert("F") if image.mode.startswith("I;16") else image, dtype=np.float64)
        top = 65535.0 if image.mode != "F" else (255.0 if values.size and np.nanmax(values) > 1 else 1.0)
        scaled = np.rint(np.clip(np.nan_to_num(values), 0, top) * (255.0 / top))
        return Image.fromarray(scaled.astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in _ALPHA:
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return image if image.mode in ("L", "RGB") else image.convert("RGB")


def decode_gray48(path: Path, box: Box | None = None) -> np.ndarray | str:
    """The image at `path` (its face `box`, clipped to the image, when given) as (48, 48) uint8, or a one-line
    reason it cannot be read. A JPEG whose face is at least `DRAFT_KEEP` pixels a side at 1/2, 1/4 or 1/8
    scale is decoded at that scale (Pillow's `draft`: in the DCT, several times faster), then cropped and
    resized as any image."""
    try:
        with opened(path) as opened_image:
            stored = opened_image.size
            scale = _draft(opened_image, box)
            image = eight_bit(opened_image)
            if box is not None:
                # The image's full size, upright: EXIF turned it a quarter when its orientation changed.
                upright = stored if (image.width >= image.height) == (stored[0] >= stored[1]) else stored[::-1]
                left, top, right, bottom = (
                    max(box[0], 0),
                    max(box[1], 0),
                    min(box[2], upright[0]),
                    min(box[3], upright[1]),
                )
                if right <= left or bottom <= top:
                    return f"face box {box} is empty or outside the {upright[0]}x{upright[1]} image"
                image = image.crop(
                    (left // scale, top // scale, max(-(-right // scale), left // scale + 1),
                     max(-(-bottom // scale), top // scale + 1))
                )  # fmt: skip
            gray = image.convert("L")
    except Unreadable as exc:
        return str(exc)
    return gray48(gray)


DRAFT_KEEP = 2 * 48  # a reduced JPEG decode keeps the face at least twice the output's side


def _draft(image: Image.Image, box: Box | None) -> int:
    """The reduced decode `decode_gray48` may take: the face (or the whole image) keeps DRAFT_KEEP pixels."""
    face = min(image.size) if box is None else min(box[2] - box[0], box[3] - box[1])
    return _reduce_jpeg(image, face // DRAFT_KEEP)


def _reduce_jpeg(image: Image.Image, most: int) -> int:
    """Have Pillow decode a JPEG at 1/2, 1/4 or 1/8 scale, the largest not above `most` (its `draft`: in the
    DCT, far less time and memory); returns the scale taken (1: full size, or not a JPEG)."""
    if image.format != "JPEG" or most < 2:
        return 1
    width, height = image.size
    taken = image.draft(image.mode, (width // min(most, 8), height // min(most, 8)))  # (mode, the reduced box)
    return 1 if taken is None else round(width / taken[1][2])


def read_rgb(file: Path | BinaryIO, max_side: int | None = None, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """A photo as (H, W, 3) uint8 RGB by this module's rule; raises `Unreadable`. With `max_side`, the longer
    side is brought down to `max_side`: a JPEG is first decoded at 1/2, 1/4 or 1/8 scale (Pillow's `draft`: in
    the DCT, far less time and memory), then resized with LANCZOS. An image still over `max_pixels` when it
    would be decoded is refused first."""
    with opened(file) as image:
        if max_side is not None:
            _reduce_jpeg(image, max(image.size) // max_side)
        width, height = image.size
        if width * height > max_pixels:
            raise Unreadable(f"{width}x{height} pixels, over the {max_pixels:,}-pixel limit for photos")
        upright = eight_bit(image).convert("RGB")
        if max_side is not None and max(upright.size) > max_side:
            upright.thumbnail((max_side, max_side), RESAMPLING)
        return np.asarray(upright)


def gray48(gray: Image.Image) -> np.ndarray:
    """A gray ("L") image as (48, 48) uint8: LANCZOS-resized, or kept pixel for pixel when already 48x48."""
    if gray.size != (IMAGE_SIDE, IMAGE_SIDE):
        gray = gray.resize((IMAGE_SIDE, IMAGE_SIDE), RESAMPLING)
    return np.asarray(gray, dtype=np.uint8)


# Images decoded per block: what is in flight at once, so memory stays flat however many images there are.
BLOCK = 4096


def decode_many(
    paths: Sequence[Path], boxes: Sequence[Box | None] | None = None, workers: int | None = None
) -> tuple[np.ndarray, dict[int, str]]:
    """`decode_gray48` over many files on `workers` threads (default: all cores; Pillow releases the GIL
    while decoding and resizing), into one preallocated (N, 48, 48) uint8 array; also returns the reason
    for each file that could not be read, by position (its rows stay zero)."""
    boxes = boxes if boxes is not None else [None] * len(paths)
    images = np.zeros((len(paths), IMAGE_SIDE, IMAGE_SIDE), np.uint8)
    failures: dict[int, str] = {}
    # A progress bar on a terminal only: logs, pipes and DVC stages stay clean.
    progress = Progress(console=Console(stderr=True), transient=True, disable=not sys.stderr.isatty())
    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool, progress:
        task = progress.add_task("decoding images", total=len(paths))
        for start in range(0, len(paths), BLOCK):
            progress.update(task, completed=start)
            decoded = pool.map(decode_gray48, paths[start : start + BLOCK], boxes[start : start + BLOCK], chunksize=16)
            for index, result in enumerate(decoded, start):
                if isinstance(result, str):
                    failures[index] = result
                else:
                    images[index] = result
    return images, failures


def decode_or_fail(
    paths: Sequence[Path],
    boxes: Sequence[Box | None] | None,
    skip_bad: bool,
    name: Callable[[int], str],
) -> tuple[np.ndarray, np.ndarray]:
    """`decode_many`, then the first unreadable image (as `name(position)` calls it) is an error unless
    `skip_bad`; returns the images and the mask of those that were read."""
    decoded, failures = decode_many(paths, boxes)
    if failures and not skip_bad:
        first = min(failures)
        raise FerdataError(f"{name(first)}: {failures[first]}")
    good = np.ones(len(paths), dtype=bool)
    good[list(failures)] = False
    return decoded, good
