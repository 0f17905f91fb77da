"""The canonical image store: one split is one `.npz` of uint8 48x48 images, labels, ids and origin.

Files are written deterministically (fixed zip timestamps, no compression, no pickles), so one seed gives
byte-identical outputs, and atomically, so a failed write never leaves a partial file.
"""

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ferdata.errors import FerdataError
from ferdata.labels import NUM_CLASSES
from ferdata.outputs import atomic_file

IMAGE_SIDE = 48
SPLITS: tuple[str, ...] = ("train", "val", "test")
ORIGIN_SEP = "|"  # joins the parent ids of a derived row in `origin`
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Split:
    """N images with their labels, stable source ids and, for derived rows, the ids of their parents.

    `origin[i]` is "" for a row read from a source and the parents' ids joined by "|" for a synthetic
    row (SMOTE: both neighbours; augmentation: the source image).
    """

    images: np.ndarray  # uint8 (N, 48, 48)
    labels: np.ndarray  # int8 (N,), FER2013 order 0..6
    ids: np.ndarray  # str (N,)
    origin: np.ndarray  # str (N,)

    def __post_init__(self) -> None:
        problem = _contract_problem(self.images, self.labels, self.ids, self.origin)
        if problem:
            raise FerdataError(problem)

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def from_source(cls, images: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> "Split":
        """Rows read straight from a source: no origin."""
        return cls(images, labels.astype(np.int8), ids.astype(str), np.full(len(labels), "", dtype="U1"))

    def take(self, index: np.ndarray) -> "Split":
        """The rows at `index` (integer positions or a boolean mask), in that order."""
        return Split(self.images[index], self.labels[index], self.ids[index], self.origin[index])

    def class_counts(self) -> list[int]:
        return np.bincount(self.labels, minlength=NUM_CLASSES).tolist()


def concat(splits: list[Split]) -> Split:
    return Split(
        np.concatenate([s.images for s in splits]),
        np.concatenate([s.labels for s in splits]),
        np.concatenate([s.ids for s in splits]),
        np.concatenate([s.origin for s in splits]),
    )


def _contract_problem(images: np.ndarray, labels: np.ndarray, ids: np.ndarray, origin: np.ndarray) -> str:
    """What breaks the store contract, or "" when nothing does."""
    if images.dtype != np.uint8:
        return f"images have dtype {images.dtype}, expected uint8"
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        return f"images have shape {images.shape}, expected (N, {IMAGE_SIDE}, {IMAGE_SIDE})"
    if labels.dtype.kind not in "iu":
        return f"labels have dtype {labels.dtype}, expected an integer type"
    n = len(images)
    for name, array in (("labels", labels), ("ids", ids), ("origin", origin)):
        if array.shape != (n,):
            return f"{name} have shape {array.shape}, expected ({n},) to match the images"
    for name, array in (("ids", ids), ("origin", origin)):
        if array.dtype.kind != "U":
            return f"{name} have dtype {array.dtype}, expected str"
    bad = np.flatnonzero((labels < 0) | (labels >= NUM_CLASSES))
    if bad.size:
        return f"label {labels[bad[0]]} at row {bad[0]} is outside 0..{NUM_CLASSES - 1}"
    return ""


def save_split(split: Split, path: Path) -> None:
    """Write `split` to `path` atomically and byte-reproducibly."""
    arrays = {"images": split.images, "labels": split.labels, "ids": split.ids, "origin": split.origin}
    with atomic_file(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_FIXED_ZIP_TIME)
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)


def load_split(path: Path, mapped: bool = False) -> Split:
    """Read and validate one split file; every problem names the file. `mapped`: the images are memory-mapped
    (`mapped_array`), not read."""
    if not path.is_file():
        raise FerdataError(f"{path}: no such split file (is this a ferdata dataset directory?)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = {"images", "labels", "ids"} - set(archive.files)
            if missing:
                raise FerdataError(f"{path}: not a ferdata split, missing {', '.join(sorted(missing))}")
            labels, ids = archive["labels"], archive["ids"]
            images = mapped_array(path, "images") if mapped else archive["images"]
            origin = archive["origin"] if "origin" in archive.files else np.full(len(labels), "", dtype="U1")
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise FerdataError(f"{path}: not a readable .npz split ({exc})") from None
    problem = _contract_problem(images, labels, ids, origin)
    if problem:
        raise FerdataError(f"{path}: {problem}")
    return Split(images, labels.astype(np.int8, copy=False), ids, origin)


def mapped_array(path: Path, member: str) -> np.memmap:
    """One array of a split file, memory-mapped read-only: the store writes its members uncompressed, so each
    `.npy` lies in the file as is, after its zip and npy headers. Processes that map it share the page cache."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(f"{member}.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            raise FerdataError(f"{path}: {member} is compressed and cannot be memory-mapped")
        with open(path, "rb") as file:
            file.seek(info.header_offset + 26)  # a zip local header's name and extra-field lengths
            name_length, extra_length = struct.unpack("<HH", file.read(4))
            file.seek(name_length + extra_length, 1)
            version = np.lib.format.read_magic(file)
            header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = header(file)
            offset = file.tell()
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, struct.error) as exc:
        raise FerdataError(f"{path}: cannot map {member} ({exc})") from None
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran_order else "C")


def load_dataset(directory: Path) -> dict[str, Split]:
    """The train, val and test splits of a ferdata dataset directory."""
    if not directory.is_dir():
        raise FerdataError(f"{directory}: not a directory (expected a ferdata dataset with train/val/test.npz)")
    return {name: load_split(directory / f"{name}.npz") for name in SPLITS}
