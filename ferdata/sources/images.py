"""Decode image files to 48x48 grayscale uint8, safely and on all cores.

Gray conversion is Pillow's `convert("L")` (ITU-R 601-2 luma: L = 0.299 R + 0.587 G + 0.114 B). Images of
another size are resized with Pillow's LANCZOS filter, which antialiases when shrinking; 48x48 images are
kept as they are, pixel for pixel.
"""

import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ferdata.store import IMAGE_SIDE

# Far above any face photo, far below what would exhaust memory: refused before decoding.
MAX_IMAGE_PIXELS = 50_000_000
RESAMPLING = Image.Resampling.LANCZOS
_TOO_LARGE = f"over the {MAX_IMAGE_PIXELS:,}-pixel limit (a possible decompression bomb)"


def decode_gray48(path: Path) -> np.ndarray | str:
    """The image at `path` as (48, 48) uint8, or a one-line reason it cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    return f"{width}x{height} pixels, {_TOO_LARGE}"
                gray = image.convert("L")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _TOO_LARGE  # Pillow refuses the largest ones itself, before we can see the size
    except UnidentifiedImageError as exc:
        return f"not a readable image ({exc})"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"corrupt or truncated image ({exc})"
    if gray.size != (IMAGE_SIDE, IMAGE_SIDE):
        gray = gray.resize((IMAGE_SIDE, IMAGE_SIDE), RESAMPLING)
    return np.asarray(gray, dtype=np.uint8)


def decode_many(paths: Sequence[Path]) -> list[np.ndarray | str]:
    """`decode_gray48` over many files on all cores (Pillow releases the GIL while decoding), in order."""
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        return list(pool.map(decode_gray48, paths, chunksize=64))
