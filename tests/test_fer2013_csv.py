import gzip
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from ferdata.errors import FerdataError
from ferdata.sources.fer2013_csv import format_fer2013_csv, read_fer2013_csv


def _canonical(faces) -> bytes:
    return format_fer2013_csv(*faces)


def _rows(faces) -> list[tuple[str, str, str]]:
    lines = _canonical(faces).decode().splitlines()[1:]
    return [tuple(line.split(",")) for line in lines]


def _icml(faces) -> bytes:
    body = "".join(f"{e},{u},{p}\n" for e, p, u in _rows(faces))
    return ("emotion, Usage, pixels\n" + body).encode()


def _train_csv(faces) -> bytes:
    return ("emotion,pixels\n" + "".join(f"{e},{p}\n" for e, p, _ in _rows(faces))).encode()


VARIANTS = {
    "canonical": _canonical,
    "crlf_bom": lambda f: b"\xef\xbb\xbf" + _canonical(f).replace(b"\n", b"\r\n"),
    "quoted": lambda f: "".join(
        ['"emotion","pixels","Usage"\n'] + [f'"{e}","{p}","{u}"\n' for e, p, u in _rows(f)]
    ).encode(),
    "icml_spaced_headers": _icml,
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_csv_variant_reads_the_same_rows(tmp_path, faces, variant):
    path = tmp_path / "fer.csv"
    path.write_bytes(VARIANTS[variant](faces))
    rows = read_fer2013_csv(path)
    np.testing.assert_array_equal(rows.images, faces[0])
    np.testing.assert_array_equal(rows.labels, faces[1])
    np.testing.assert_array_equal(rows.usage, faces[2])
    np.testing.assert_array_equal(rows.rows, np.arange(len(faces[1])))


def test_train_csv_has_no_usage(tmp_path, faces):
    path = tmp_path / "train.csv"
    path.write_bytes(_train_csv(faces))
    rows = read_fer2013_csv(path)
    assert rows.usage is None
    np.testing.assert_array_equal(rows.images, faces[0])


def test_gzip_and_zip_as_shipped(tmp_path, faces):
    gz = tmp_path / "fer2013.csv.gz"
    gz.write_bytes(gzip.compress(_canonical(faces)))
    archive = tmp_path / "fer2013.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("fer2013/fer2013.csv", _canonical(faces))
        z.writestr("fer2013/README", "not a csv")
    for path in (gz, archive):
        np.testing.assert_array_equal(read_fer2013_csv(path).images, faces[0])


def _replace_row(faces, row: int, line: str) -> bytes:
    lines = _canonical(faces).decode().splitlines()
    lines[row + 1] = line
    return ("\n".join(lines) + "\n").encode()


def _pixels(count: int, bad: str | None = None) -> str:
    values = ["7"] * count
    if bad is not None:
        values[10] = bad
    return " ".join(values)


BAD_CSVS = {
    "2303 pixels": (lambda f: _replace_row(f, 4, f"3,{_pixels(2303)},Training"), "row 5 (line 6): has 2303 pixel"),
    "2305 pixels": (lambda f: _replace_row(f, 4, f"3,{_pixels(2305)},Training"), "row 5 (line 6): has 2305 pixel"),
    "non-numeric": (lambda f: _replace_row(f, 2, f"3,{_pixels(2304, 'x1')},Training"), "pixel 11 is 'x1'"),
    "over 255": (lambda f: _replace_row(f, 2, f"3,{_pixels(2304, '256')},Training"), "pixel 11 is 256, outside"),
    "unknown label": (lambda f: _replace_row(f, 7, f"7,{_pixels(2304)},Training"), "row 8 (line 9): unknown label '7'"),
    "text label": (lambda f: _replace_row(f, 7, f"happy,{_pixels(2304)},Training"), "unknown label 'happy'"),
    "unknown usage": (lambda f: _replace_row(f, 0, f"3,{_pixels(2304)},Validation"), "unknown Usage 'Validation'"),
    "missing column": (lambda f: b"emotion,Usage\n3,Training\n", "missing column 'pixels'"),
    "empty file": (lambda f: b"", "empty file"),
    "header only": (lambda f: b"emotion,pixels,Usage\n", "no data rows"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSVS))
def test_bad_csv_fails_in_one_line_and_writes_nothing(tmp_path, faces, case):
    make, message = BAD_CSVS[case]
    path = tmp_path / "bad.csv"
    path.write_bytes(make(faces))
    out = tmp_path / "out"
    result = run_cli("ingest", path, "--out", out)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and str(path) in result.stderr and message in result.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_skip_bad_drops_and_counts_bad_rows(tmp_path, faces):
    data = _replace_row(faces, 4, f"3,{_pixels(2303)},Training").decode().splitlines()
    data[8] = f"9,{_pixels(2304)},Training"
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(data) + "\n")
    rows = read_fer2013_csv(path, skip_bad=True)
    assert rows.skipped == {"pixels": 1, "label": 1}
    assert len(rows.labels) == len(faces[1]) - 2 and 4 not in rows.rows and 7 not in rows.rows
    keep = np.setdiff1d(np.arange(len(faces[1])), [4, 7])
    np.testing.assert_array_equal(rows.images, faces[0][keep])


def test_missing_and_broken_files_are_named(tmp_path):
    with pytest.raises(FerdataError, match="no such file"):
        read_fer2013_csv(tmp_path / "absent.csv")
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(b"\x1f\x8b\x08 truncated")
    with pytest.raises(FerdataError, match=str(broken)):
        read_fer2013_csv(broken)
    empty_zip = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty_zip, "w") as z:
        z.writestr("notes.txt", "")
    with pytest.raises(FerdataError, match=r"expected one \.csv inside the zip, found 0"):
        read_fer2013_csv(Path(empty_zip))
