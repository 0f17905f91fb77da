import numpy as np
import pytest

from ferdata.errors import FerdataError
from ferdata.store import Split, concat, load_dataset, load_split, save_split


def _split(n: int = 5, seed: int = 0) -> Split:
    rng = np.random.default_rng(seed)
    return Split.from_source(
        rng.integers(0, 256, (n, 48, 48), dtype=np.uint8),
        rng.integers(0, 7, n),
        np.array([f"test:{i}" for i in range(n)]),
    )


def test_round_trip_keeps_every_array(tmp_path):
    split = _split()
    save_split(split, tmp_path / "s.npz")
    back = load_split(tmp_path / "s.npz")
    assert back.images.dtype == np.uint8 and back.labels.dtype == np.int8
    for name in ("images", "labels", "ids", "origin"):
        np.testing.assert_array_equal(getattr(back, name), getattr(split, name))


def test_writes_are_byte_identical(tmp_path):
    save_split(_split(), tmp_path / "a.npz")
    save_split(_split(), tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_take_and_concat_keep_rows_aligned():
    split = _split(6)
    joined = concat([split.take(np.array([4, 0])), split.take(split.labels == split.labels[1])])
    assert joined.ids[0] == "test:4" and joined.ids[1] == "test:0"
    np.testing.assert_array_equal(joined.images[0], split.images[4])


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((2, 48, 48), np.float32), np.zeros(2, np.int8), "dtype float32, expected uint8"),
        (np.zeros((2, 48, 47), np.uint8), np.zeros(2, np.int8), "shape (2, 48, 47)"),
        (np.zeros((2, 48, 48), np.uint8), np.zeros(3, np.int8), "labels have shape (3,)"),
        (np.zeros((2, 48, 48), np.uint8), np.array([0, 7]), "label 7 at row 1 is outside 0..6"),
    ],
)
def test_contract_violations_are_named(tmp_path, images, labels, message):
    path = tmp_path / "bad.npz"
    np.savez(path, images=images, labels=labels, ids=np.array(["a", "b"]))
    with pytest.raises(FerdataError) as error:
        load_split(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_missing_arrays_and_non_npz_files_are_named(tmp_path):
    np.savez(tmp_path / "partial.npz", images=np.zeros((1, 48, 48), np.uint8))
    with pytest.raises(FerdataError, match="missing ids, labels"):
        load_split(tmp_path / "partial.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(FerdataError, match=r"not a readable \.npz"):
        load_split(tmp_path / "text.npz")
    with pytest.raises(FerdataError, match="not a directory"):
        load_dataset(tmp_path / "nowhere")


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", explode)
    with pytest.raises(OSError, match="disk full"):
        save_split(_split(), tmp_path / "s.npz")
    assert list(tmp_path.iterdir()) == []
