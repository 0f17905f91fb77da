import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferdata.sources import pixels
from ferdata.sources.pixels import decode_pixel_column, describe_pixel_problem


def _decode(texts: list[str], n_pixels: int):
    return decode_pixel_column(pa.chunked_array([pa.array(texts, pa.string())]), n_pixels)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 255), min_size=5, max_size=5), min_size=1, max_size=20),
    st.sampled_from([" ", "  ", "\t", " \t "]),
    st.booleans(),
)
def test_decodes_like_a_plain_parse(rows, separator, padded):
    texts = [(" " if padded else "") + separator.join(map(str, row)) + (" " if padded else "") for row in rows]
    ok, decoded = _decode(texts, 5)
    assert ok.all()
    np.testing.assert_array_equal(decoded, np.array(rows, dtype=np.uint8))


def test_bad_rows_are_flagged_and_good_rows_kept():
    texts = ["1 2 3", "1 2", "1 2 3 4", "1 x 3", "1 256 3", "1 0255 3", "", "1.5 2 3", "-1 2 3", "9 8 7"]
    ok, decoded = _decode(texts, 3)
    assert ok.tolist() == [True] + [False] * 8 + [True]
    np.testing.assert_array_equal(decoded, [[1, 2, 3], [9, 8, 7]])


def test_rows_spanning_many_blocks_and_chunks_stay_in_order(monkeypatch):
    monkeypatch.setattr(pixels, "ROWS_PER_BLOCK", 3)
    rows = np.random.default_rng(0).integers(0, 256, (50, 4))
    texts = [" ".join(map(str, row)) for row in rows]
    column = pa.chunked_array([pa.array(texts[:17]), pa.array(texts[17:])])
    ok, decoded = decode_pixel_column(column, 4)
    assert ok.all()
    np.testing.assert_array_equal(decoded, rows)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 2", "has 2 pixel values, expected 3"),
        ("1 a 3", "pixel 2 is 'a', not an integer"),
        ("1 2 300", "pixel 3 is 300, outside 0..255"),
    ],
)
def test_problems_are_described(text, expected):
    assert describe_pixel_problem(text, 3) == expected
