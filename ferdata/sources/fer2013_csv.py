"""FER2013 in its CSV forms: `fer2013.csv`, `icml_face_data.csv` and `train.csv`, plain, .gz or .zip.

pyarrow parses the CSV structure (quotes, BOM, CRLF, any column order); the pixel column is decoded by
`ferdata.sources.pixels` straight from pyarrow's byte buffer, so nothing loops over rows in Python.
"""

import contextlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ferdata.atomic import atomic_file
from ferdata.errors import FerdataError
from ferdata.labels import NUM_CLASSES
from ferdata.sources.pixels import decode_pixel_column, describe_pixel_problem
from ferdata.store import IMAGE_SIDE

N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
USAGES: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")
_HEADER_BYTES = 1 << 16
_READ_OPTIONS = pa_csv.ReadOptions(block_size=16 << 20)  # measured fastest on the 301 MB FER2013 file


@dataclass(frozen=True)
class CsvRows:
    """The good rows of a FER2013 CSV, in file order, and what was skipped."""

    images: np.ndarray  # uint8 (N, 48, 48)
    labels: np.ndarray  # int8 (N,)
    usage: np.ndarray | None  # str (N,) Training/PublicTest/PrivateTest, or None when the file has no Usage
    rows: np.ndarray  # int64 (N,) 0-based data row of each image in the file
    total_rows: int  # data rows in the file, good or bad
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows dropped by --skip-bad


def read_fer2013_csv(path: Path, skip_bad: bool = False) -> CsvRows:
    """Read a FER2013 CSV; any bad row raises a one-line error naming file and row, unless `skip_bad`."""
    table = _read_table(path)
    columns = {name.strip().lower(): name for name in table.column_names}
    for required in ("emotion", "pixels"):
        if required not in columns:
            found = ", ".join(repr(name) for name in table.column_names)
            raise FerdataError(f"{path}: missing column {required!r} (found {found})")
    n_rows = table.num_rows
    if n_rows == 0:
        raise FerdataError(f"{path}: no data rows")

    pixels_ok, pixels = decode_pixel_column(table.column(columns["pixels"]), N_PIXELS)
    labels, labels_ok = _parse_labels(_text(table.column(columns["emotion"])))
    usage, usage_ok = None, np.ones(n_rows, bool)
    if "usage" in columns:
        usage = _text(table.column(columns["usage"]))
        usage_ok = np.isin(usage, USAGES)

    problems = {"pixels": ~pixels_ok, "label": ~labels_ok, "usage": ~usage_ok}
    bad_any = ~pixels_ok | ~labels_ok | ~usage_ok
    if bad_any.any() and not skip_bad:
        row = int(np.flatnonzero(bad_any)[0])
        raise FerdataError(f"{path}: row {row + 1} (line {row + 2}): {_describe(table, columns, row, problems)}")

    keep = ~bad_any
    return CsvRows(
        images=pixels[keep[pixels_ok]].reshape(-1, IMAGE_SIDE, IMAGE_SIDE),
        labels=labels[keep].astype(np.int8),
        usage=None if usage is None else usage[keep],
        rows=np.flatnonzero(keep),
        total_rows=n_rows,
        skipped={reason: int(mask.sum()) for reason, mask in problems.items() if mask.any()},
    )


def _describe(table: pa.Table, columns: dict[str, str], row: int, problems: dict[str, np.ndarray]) -> str:
    if problems["pixels"][row]:
        return describe_pixel_problem(table.column(columns["pixels"])[row].as_py() or "", N_PIXELS)
    if problems["label"][row]:
        value = table.column(columns["emotion"])[row].as_py()
        return f"unknown label {value!r} (expected an integer 0..{NUM_CLASSES - 1})"
    value = table.column(columns["usage"])[row].as_py()
    return f"unknown Usage {value!r} (expected one of {', '.join(USAGES)})"


def _text(column: pa.ChunkedArray) -> np.ndarray:
    """A short column as stripped str values ("" for missing)."""
    text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
    return np.asarray(pc.fill_null(text, "").to_numpy(zero_copy_only=False), dtype=str)


def _parse_labels(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    valid = np.char.isdigit(text) & (np.char.str_len(text) <= 2)
    labels = np.zeros(len(text), np.int64)
    labels[valid] = text[valid].astype(np.int64)
    return labels, valid & (labels < NUM_CLASSES)


def _read_table(path: Path) -> pa.Table:
    """Every column as text (labels and Usage are checked here, naming the row), decompressing as it parses."""
    if not path.is_file():
        raise FerdataError(f"{path}: no such file")
    with _open_source(path) as (stream, header):
        if not header.strip():
            raise FerdataError(f"{path}: empty file")
        first_line = header.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
        # Names keep their own spacing: icml_face_data.csv's header is "emotion, Usage, pixels".
        types = dict.fromkeys((name.strip('"') for name in first_line.split(",")), pa.string())
        options = pa_csv.ConvertOptions(column_types=types, strings_can_be_null=False)
        try:
            return pa_csv.read_csv(stream, read_options=_READ_OPTIONS, convert_options=options)
        except (pa.ArrowInvalid, OSError) as exc:
            raise FerdataError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None


@contextlib.contextmanager
def _open_source(path: Path) -> Iterator[tuple[pa.NativeFile, bytes]]:
    """A stream of the CSV bytes of a plain, gzip or zip file, and its first bytes (for the header)."""
    name = path.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if m.lower().endswith(".csv") and "__MACOSX" not in m]
                if len(members) != 1:
                    raise FerdataError(f"{path}: expected one .csv inside the zip, found {len(members)}")
                raw = archive.read(members[0])
            yield pa.BufferReader(raw), raw[:_HEADER_BYTES]
            return
        compression = "gzip" if name.endswith(".gz") else None
        with pa.input_stream(str(path), compression=compression) as peek:
            header = peek.read(_HEADER_BYTES)
        with pa.input_stream(str(path), compression=compression) as stream:
            yield stream, header
    except (zipfile.BadZipFile, pa.ArrowInvalid, OSError) as exc:
        raise FerdataError(f"{path}: not a readable {'zip' if name.endswith('.zip') else 'file'} ({exc})") from None


def write_fer2013_csv(path: Path, images: np.ndarray, labels: np.ndarray, usage: np.ndarray) -> None:
    """Write rows in the canonical Kaggle format `emotion,pixels,Usage`, atomically and vectorised."""
    with atomic_file(path) as tmp:
        tmp.write_bytes(format_fer2013_csv(images, labels, usage))


def format_fer2013_csv(images: np.ndarray, labels: np.ndarray, usage: np.ndarray | None) -> bytes:
    """The bytes of a FER2013 CSV (`emotion,pixels[,Usage]`, LF line ends), built without a row loop.

    Each value becomes a fixed-width cell of its digits padded with NUL bytes; dropping the NULs of the
    flattened table leaves the exact text.
    """
    n = len(labels)
    flat = images.reshape(n, -1)
    digits = _padded_table([f"{v} " for v in range(256)])
    last_digits = _padded_table([f"{v}" for v in range(256)])
    parts = [
        _padded_table([f"{v}," for v in range(NUM_CLASSES)])[labels.astype(np.intp)],
        digits[flat[:, :-1]].reshape(n, -1),
        last_digits[flat[:, -1]],
    ]
    header = b"emotion,pixels"
    if usage is not None:
        names = sorted(USAGES)
        parts.append(_padded_table([f",{name}\n" for name in names])[np.searchsorted(names, usage)])
        header += b",Usage"
    else:
        parts.append(np.full((n, 1), ord("\n"), np.uint8))
    table = np.concatenate(parts, axis=1).ravel()
    return header + b"\n" + table[table != 0].tobytes()


def _padded_table(texts: list[str]) -> np.ndarray:
    width = max(len(t) for t in texts)
    table = np.zeros((len(texts), width), np.uint8)
    for i, text in enumerate(texts):
        table[i, : len(text)] = np.frombuffer(text.encode(), np.uint8)
    return table
