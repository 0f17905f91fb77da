"""FER2013 in its CSV forms: `fer2013.csv`, `icml_face_data.csv` and `train.csv`, plain, .gz or .zip.

pyarrow parses the CSV structure (quotes, BOM, CRLF, any column order); the pixel column is decoded by
`ferdata.sources.pixels` straight from pyarrow's byte buffer, so nothing loops over rows in Python.
"""

import contextlib
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ferdata.errors import FerdataError, first_line
from ferdata.labels import NUM_CLASSES
from ferdata.outputs import atomic_file
from ferdata.sources.fields import repeated_name
from ferdata.sources.pixels import decode_pixel_column, describe_pixel_problem
from ferdata.store import IMAGE_SIDE

N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
USAGES: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")
_HEADER_BYTES = 1 << 16
# Archives: what one CSV may inflate to (FER2013's is 301 MB), and the most a zip member may inflate per byte
# (FER2013's pixel text deflates about 3.3x; a bomb is 1000x and more).
MAX_INFLATED_BYTES = 2 << 30
MAX_ZIP_RATIO = 100
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
    labels, labels_ok = _parse_labels(_trimmed(table.column(columns["emotion"])))
    usage, usage_ok = None, np.ones(n_rows, bool)
    if "usage" in columns:
        trimmed = _trimmed(table.column(columns["usage"]))
        usage_ok = _as_numpy(pc.is_in(trimmed, pa.array(USAGES)))  # in Arrow: numpy would drop a trailing NUL
        usage = _as_numpy(trimmed).astype(str)

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


def _trimmed(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A short column as text without surrounding white space ("" for missing)."""
    return pc.fill_null(pc.utf8_trim_whitespace(pc.cast(column, pa.string())), "")


def _as_numpy(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(column.to_numpy(zero_copy_only=False))


def _parse_labels(text: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Labels are one ASCII digit 0..6 (checked in Arrow: `str.isdigit` takes '²' and '٣', and numpy strips a
    trailing NUL)."""
    valid = _as_numpy(pc.match_substring_regex(text, f"^0?[0-{NUM_CLASSES - 1}]$"))
    labels = np.zeros(len(valid), np.int64)
    labels[valid] = _as_numpy(pc.cast(pc.filter(text, valid), pa.int64()))
    return labels, valid


def _read_table(path: Path) -> pa.Table:
    """Every column as text (labels and Usage are checked here, naming the row), decompressing as it parses."""
    if not path.is_file():
        raise FerdataError(f"{path}: no such file")
    kind = "zip" if path.name.lower().endswith(".zip") else "gzip file" if path.name.lower().endswith(".gz") else "file"
    try:
        with _open_source(path) as (stream, header):
            if not header.strip():
                raise FerdataError(f"{path}: empty file")
            header_line = header.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
            # Names keep their own spacing: icml_face_data.csv's header is "emotion, Usage, pixels".
            names = [name.strip('"') for name in header_line.split(",")]
            if (twice := repeated_name([name.strip().lower() for name in names])) is not None:
                raise FerdataError(f"{path}: column {twice!r} appears twice in the header")
            # A header with nothing after it never reaches Arrow: its threaded reader can abort the process at
            # exit on an empty body (apache/arrow#38676), after the error was printed.
            if len(header) < _HEADER_BYTES and not header.partition(b"\n")[2].strip():
                raise FerdataError(f"{path}: no data rows")
            options = pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False)
            try:
                return pa_csv.read_csv(stream, read_options=_READ_OPTIONS, convert_options=options)
            except pa.ArrowInvalid as exc:
                raise FerdataError(f"{path}: not a readable CSV ({first_line(exc)})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError) as exc:
        raise FerdataError(f"{path}: not a readable {kind} ({first_line(exc)})") from None


class _Capped(io.RawIOBase):
    """A stream that refuses to give more than `cap` bytes: a decompression bomb stops at the cap."""

    def __init__(self, stream: BinaryIO, cap: int, path: Path) -> None:
        self.stream, self.cap, self.left, self.path = stream, cap, cap, path

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self.stream.readinto(buffer)
        self.left -= count
        if self.left < 0:
            raise FerdataError(f"{self.path}: inflates to more than {self.cap:,} bytes; refusing to read on")
        return count


@contextlib.contextmanager
def _open_source(path: Path) -> Iterator[tuple[BinaryIO, bytes]]:
    """A stream of the CSV bytes of a plain, gzip or zip file, and its first bytes (for the header). Archives
    are streamed, never read whole, and refused past `MAX_INFLATED_BYTES` (zip: before inflating, by the
    sizes its directory gives, and by `MAX_ZIP_RATIO`)."""
    name = path.name.lower()
    with contextlib.ExitStack() as stack:
        if name.endswith(".zip"):
            archive = stack.enter_context(zipfile.ZipFile(path))
            stream = stack.enter_context(archive.open(_csv_member(archive, path)))
        else:  # Arrow inflates gzip a little faster than Python
            compression = "gzip" if name.endswith(".gz") else None
            raw = stack.enter_context(open(path, "rb"))  # Python opens any file name, UTF-8 or not
            stream = stack.enter_context(pa.input_stream(raw, compression=compression))
        reader = io.BufferedReader(_Capped(stream, MAX_INFLATED_BYTES, path), buffer_size=_HEADER_BYTES)
        yield reader, reader.peek(_HEADER_BYTES)[:_HEADER_BYTES]


def _csv_member(archive: zipfile.ZipFile, path: Path) -> zipfile.ZipInfo:
    """The one .csv inside a zip, checked for size and compression ratio before anything is inflated."""
    members = [m for m in archive.infolist() if m.filename.lower().endswith(".csv") and "__MACOSX" not in m.filename]
    if len(members) != 1:
        raise FerdataError(f"{path}: expected one .csv inside the zip, found {len(members)}")
    member = members[0]
    if member.file_size > MAX_INFLATED_BYTES:
        raise FerdataError(f"{path}: {member.filename} is {member.file_size:,} bytes inflated, over the cap")
    if member.file_size > MAX_ZIP_RATIO * max(member.compress_size, 1) and member.file_size > _HEADER_BYTES:
        raise FerdataError(f"{path}: {member.filename} inflates {MAX_ZIP_RATIO}x or more (a zip bomb?)")
    if member.flag_bits & 0x1:
        raise FerdataError(f"{path}: {member.filename} is encrypted")
    return member


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
