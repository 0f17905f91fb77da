"""Every Pillow mode a photo can arrive in becomes the right 8-bit gray, and EXIF orientation is applied by
ingestion and prediction alike. Expectations are computed here from the pixel values written, by the
documented rule, not by calling the code under test."""

import io

import numpy as np
import pytest
from PIL import Image

from ferdata.sources.images import decode_gray48, read_rgb

RNG = np.random.default_rng(11)
SIDE = 48  # 48x48: no resize, so the gray values are compared exactly


def _luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601-2 luma as Pillow computes it in integers (L = R*299/1000 + G*587/1000 + B*114/1000, rounded)."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


def _over_white(value: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return value.astype(np.float64) * alpha / 255 + 255 * (1 - alpha / 255)


def _case(mode: str) -> tuple[Image.Image, np.ndarray, int]:
    """An image in `mode`, the gray it must become, and the tolerance in gray levels."""
    rgb = RNG.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
    gray = RNG.integers(0, 256, (SIDE, SIDE), dtype=np.uint8)
    alpha = RNG.integers(0, 256, (SIDE, SIDE), dtype=np.uint8)
    if mode == "1":
        bits = gray > 127
        return Image.fromarray(bits), np.where(bits, 255, 0).astype(np.uint8), 0
    if mode == "L":
        return Image.fromarray(gray, "L"), gray, 0
    if mode == "LA":
        return Image.fromarray(np.dstack([gray, alpha]), "LA"), np.rint(_over_white(gray, alpha)), 1
    if mode == "P":
        palette = RNG.integers(0, 256, (256, 3), dtype=np.uint8)
        image = Image.fromarray(gray, "L").convert("P")
        image.putpalette(palette.ravel().tolist())
        return image, _luma(palette[gray]), 0
    if mode == "P transparent":
        palette = RNG.integers(0, 256, (256, 3), dtype=np.uint8)
        image = Image.fromarray(gray, "L").convert("P")
        image.putpalette(palette.ravel().tolist())
        image.info["transparency"] = 7
        expected = _luma(palette[gray]).astype(np.int64)
        expected[gray == 7] = 255  # the transparent colour shows the white behind it
        return image, expected, 1
    if mode == "RGB":
        return Image.fromarray(rgb, "RGB"), _luma(rgb), 0
    if mode == "RGBA":
        composite = np.rint(_over_white(rgb, alpha[..., None])).astype(np.uint8)
        return Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), _luma(composite), 1
    if mode == "CMYK":
        cmyk = RNG.integers(0, 256, (SIDE, SIDE, 4), dtype=np.uint8)
        # Pillow's conversion without a colour profile: R = (255 - C)(255 - K) / 255, and so on.
        ink = cmyk.astype(np.float64)
        rgb_of = np.rint((255 - ink[..., :3]) * (255 - ink[..., 3:]) / 255).astype(np.uint8)
        return Image.fromarray(cmyk, "CMYK"), _luma(rgb_of), 1
    if mode.startswith("I;16"):
        deep = RNG.integers(0, 65536, (SIDE, SIDE)).astype(np.uint16)
        image = Image.frombytes(mode, (SIDE, SIDE), deep.astype(">u2" if mode == "I;16B" else "<u2").tobytes())
        return image, np.rint(deep / 257), 0
    if mode == "I":
        deep = RNG.integers(0, 65536, (SIDE, SIDE)).astype(np.int32)
        return Image.fromarray(deep, "I"), np.rint(deep / 257), 0
    if mode == "F":
        unit = RNG.random((SIDE, SIDE)).astype(np.float32)
        return Image.fromarray(unit, "F"), np.rint(unit.astype(np.float64) * 255), 0
    if mode == "F of 0..255":
        levels = (RNG.random((SIDE, SIDE)) * 255).astype(np.float32)
        return Image.fromarray(levels, "F"), np.rint(levels.astype(np.float64)), 0
    raise AssertionError(mode)


MODES = ["1", "L", "LA", "P", "P transparent", "RGB", "RGBA", "CMYK", "I;16", "I;16B", "I", "F", "F of 0..255"]


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_becomes_the_right_gray(tmp_path, mode):
    image, expected, tolerance = _case(mode)
    # TIFF keeps every one of these modes as it is; PNG keeps a palette's transparent colour.
    path = tmp_path / ("face.png" if mode.startswith("P") else "face.tif")
    image.save(path)
    assert Image.open(path).mode == image.mode
    gray = decode_gray48(path)
    assert isinstance(gray, np.ndarray), gray
    difference = np.abs(gray.astype(np.int64) - np.asarray(expected, np.int64))
    assert difference.max() <= tolerance
    rgb = read_rgb(path)  # prediction reads the same 8-bit picture
    assert np.abs(_luma(rgb).astype(np.int64) - np.asarray(expected, np.int64)).max() <= tolerance + 1


def test_a_16_bit_png_is_scaled_not_clipped(tmp_path):
    deep = np.linspace(0, 65535, SIDE * SIDE).reshape(SIDE, SIDE).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    gray = decode_gray48(tmp_path / "deep.png")
    assert (gray == 255).mean() < 0.01  # clipping made 99.6% of such an image white
    np.testing.assert_array_equal(gray, np.rint(deep / 257).astype(np.uint8))


def test_exif_orientation_applies_to_ingestion_and_prediction(tmp_path):
    """A photo stored sideways with EXIF orientation 6 (rotate 90 degrees clockwise to view) is read upright."""
    upright = np.zeros((SIDE, SIDE), np.uint8)
    upright[:8] = 255  # a white band along the top
    stored = np.rot90(upright, 1)  # what a camera held sideways writes
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, "PNG", exif=exif)
    (tmp_path / "sideways.png").write_bytes(buffer.getvalue())
    np.testing.assert_array_equal(decode_gray48(tmp_path / "sideways.png"), upright)
    np.testing.assert_array_equal(read_rgb(tmp_path / "sideways.png")[..., 0], upright)


def test_a_large_jpeg_is_decoded_reduced_for_the_web_page():
    buffer = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, (3000, 4000, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=50)
    reduced = read_rgb(io.BytesIO(buffer.getvalue()), max_side=1000)
    assert reduced.shape == (750, 1000, 3)  # 1/4 scale in the DCT: still at least 1000 on the longer side
    assert read_rgb(io.BytesIO(buffer.getvalue())).shape == (3000, 4000, 3)


def _face_photo(width: int = 640, height: int = 480) -> Image.Image:
    """A smooth photo-like image (gradients and a bright disc), as a JPEG would hold a face photo."""
    y, x = np.mgrid[0:height, 0:width]
    disc = ((x - width * 0.5) ** 2 + (y - height * 0.5) ** 2 < (height * 0.3) ** 2) * 90
    value = 60 + 80 * np.sin(x / 37.0) * np.cos(y / 23.0) + disc
    rgb = np.clip(np.dstack([value, value * 0.8 + 20, value * 0.6 + 40]), 0, 255).astype(np.uint8)
    return Image.fromarray(rgb)


@pytest.mark.parametrize(
    ("box", "orientation", "scale"),
    [
        ((200, 120, 440, 360), 1, 2),
        ((0, 0, 640, 480), 1, 4),
        ((100, 100, 180, 180), 1, 1),
        ((120, 200, 360, 440), 6, 2),
    ],
)
def test_a_jpeg_face_is_decoded_reduced_within_a_stated_tolerance(tmp_path, monkeypatch, box, orientation, scale):
    """A face box at least twice 96 pixels a side is decoded at 1/2..1/8 scale in the DCT. Tolerance against the
    full decode: mean difference at most 0.5 gray levels and no pixel more than 4, on smooth photo-like content
    (measured: 0.19-0.26 and 1-3); a box mapped wrongly onto the reduced image misses by tens of levels."""
    from ferdata.sources import images

    exif = Image.Exif()
    exif[0x0112] = orientation
    _face_photo().save(tmp_path / "photo.jpg", quality=92, exif=exif)
    with Image.open(tmp_path / "photo.jpg") as opened:
        assert images._draft(opened, box) == scale
    reduced = decode_gray48(tmp_path / "photo.jpg", box)
    monkeypatch.setattr(images, "DRAFT_KEEP", 10**9)  # never reduce: the full decode
    full = decode_gray48(tmp_path / "photo.jpg", box)
    assert isinstance(reduced, np.ndarray) and isinstance(full, np.ndarray)
    difference = np.abs(reduced.astype(int) - full.astype(int))
    assert difference.mean() <= 0.5 and difference.max() <= 4
    if scale == 1:
        np.testing.assert_array_equal(reduced, full)
