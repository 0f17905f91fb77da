"""ferdata's adversarial corpus: every reader, the build, params and output paths, fed what a careless or
hostile user would feed them. Each case must end in exactly one line `ferdata: error: ...` naming the file
(and the row or line where there is one), exit 1, and leave the folder exactly as it was: no output, no
temporary file, nothing of the user's touched.

The command line runs in-process (the real `ferdata.cli.main`, argv and all) so 100 cases take seconds; the
exit status of a real process is checked by test_errors_exit_1_in_a_real_process.
"""

import gzip
import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli, run_in_process
from ferdata.labels import CLASS_NAMES
from ferdata.outputs import write_marker
from ferdata.sources.fer2013_csv import format_fer2013_csv
from ferdata.store import Split, save_split
from ferdata.synth import synthesize

FACES = synthesize(70, seed=5)
RNG = np.random.default_rng(3)


@dataclass(frozen=True)
class Case:
    build: Callable[[Path], list]  # writes the inputs under a folder, returns the command's arguments
    expect: tuple[str, ...]  # what the one line must say (file, row or line, reason)


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root with its bytes (None for a folder): what must not change."""
    return {
        path.relative_to(root).as_posix(): (None if path.is_dir() else path.read_bytes())
        for path in sorted(root.rglob("*"))
        if not path.is_symlink() or path.exists()
    }


# ---- FER2013 CSV -------------------------------------------------------------------------------------------

_LINES = format_fer2013_csv(*FACES).decode().splitlines()


def _fer_csv(
    column: str | None = None,
    value: str = "",
    row: int = 2,
    header: str | None = None,
    name: str = "fer.csv",
    pixel: int | None = None,
) -> Callable[[Path], list]:
    """A valid FER2013 CSV with one field of data row `row` (0-based) replaced, or one pixel of it."""

    def build(tmp: Path) -> list:
        rows = [line.split(",") for line in _LINES[1:]]
        if column is not None:
            index = ["emotion", "pixels", "Usage"].index(column)
            if pixel is not None:
                tokens = rows[row][1].split(" ")
                tokens[pixel] = value
                rows[row][1] = " ".join(tokens)
            else:
                rows[row][index] = value
        text = (header or _LINES[0]) + "\n" + "".join(",".join(r) + "\n" for r in rows)
        path = tmp / name
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        return ["ingest", path, "--out", tmp / "out"]

    return build


def _raw(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        (tmp / name).write_bytes(data() if callable(data) else data)
        return ["ingest", tmp / name, "--out", tmp / "out"]

    return build


def _csv_bytes() -> bytes:
    return ("\n".join(_LINES) + "\n").encode()


def _zip(members: dict[str, bytes], patch: Callable[[bytearray], None] | None = None) -> Callable[[], bytes]:
    def make() -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        data = bytearray(buffer.getvalue())
        if patch:
            patch(data)
        return bytes(data)

    return make


def _set_zip_field(offset_local: int, offset_central: int, value: bytes) -> Callable[[bytearray], None]:
    """Patch a field of the first member in both its local header and its central directory entry."""

    def patch(data: bytearray) -> None:
        local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
        data[local + offset_local : local + offset_local + len(value)] = value
        data[central + offset_central : central + offset_central + len(value)] = value

    return patch


def _corrupt_deflate(data: bytearray) -> None:
    start = data.find(b"PK\x03\x04") + 30 + len("fer.csv")
    for i in range(start + 100, start + 400):
        data[i] ^= 0x5A


def _gzip_truncated() -> bytes:
    return gzip.compress(_csv_bytes())[:5000]


FER_CSV_CASES = {
    "pixel count": (_fer_csv("pixels", " ".join(["1"] * 2303)), ("fer.csv: row 3 (line 4)", "2303 pixel values")),
    "pixel over 255": (_fer_csv("pixels", "256", pixel=7), ("row 3 (line 4)", "pixel 8 is 256, outside 0..255")),
    "pixel of 4 digits": (_fer_csv("pixels", "0012", pixel=0), ("row 3", "pixel 1 is '0012', more than 3 digits")),
    "pixel not a number": (_fer_csv("pixels", "12a", pixel=3), ("row 3", "pixel 4 is '12a', not an integer")),
    "pixel unicode digit": (_fer_csv("pixels", "٣", pixel=3), ("row 3", "pixel 4 is '٣', not an integer")),
    "pixel with a NUL": (_fer_csv("pixels", "3\0", pixel=3), ("row 3", "pixel 4 is '3\\x00', not an integer")),
    "pixels empty": (_fer_csv("pixels", ""), ("row 3", "has 0 pixel values")),
    "label 7": (_fer_csv("emotion", "7"), ("row 3 (line 4)", "unknown label '7'")),
    "label -1": (_fer_csv("emotion", "-1"), ("row 3", "unknown label '-1'")),
    "label 1.5": (_fer_csv("emotion", "1.5"), ("row 3", "unknown label '1.5'")),
    "label superscript two": (_fer_csv("emotion", "²"), ("row 3", "unknown label '²'")),
    "label arabic three": (_fer_csv("emotion", "٣"), ("row 3", "unknown label '٣'")),
    "label with a NUL": (_fer_csv("emotion", "3\0"), ("row 3", "unknown label '3\\x00'")),
    "label empty": (_fer_csv("emotion", ""), ("row 3", "unknown label ''")),
    "label a word": (_fer_csv("emotion", "happy"), ("row 3", "unknown label 'happy'")),
    "label of 3 digits": (_fer_csv("emotion", "003"), ("row 3", "unknown label '003'")),
    "usage misspelt": (_fer_csv("Usage", "Trainig"), ("row 3 (line 4)", "unknown Usage 'Trainig'")),
    "usage with a NUL": (_fer_csv("Usage", "Training\0"), ("row 3", "unknown Usage 'Training\\x00'")),
    "no pixels column": (_fer_csv(header="emotion,pixel,Usage"), ("fer.csv: missing column 'pixels'",)),
    "no emotion column": (_fer_csv(header="label,pixels,Usage"), ("fer.csv: missing column 'emotion'",)),
    "column twice": (_fer_csv(header="emotion,pixels,emotion"), ("fer.csv: column 'emotion' appears twice",)),
    "column twice by case": (_fer_csv(header="emotion,pixels,Pixels"), ("column 'pixels' appears twice",)),
    "empty file": (_raw("fer.csv", b""), ("fer.csv: empty file",)),
    "header only": (_raw("fer.csv", b"emotion,pixels,Usage\n"), ("fer.csv: no data rows",)),
    "binary garbage": (_raw("fer.csv", bytes(range(256)) * 8), ("fer.csv: ",)),
    "unbalanced quote": (
        _raw("fer.csv", lambda: _csv_bytes().replace(b"\n0,", b'\n"0,', 1)),
        ("fer.csv: ",),
    ),
    "gzip truncated": (_raw("fer.csv.gz", _gzip_truncated), ("fer.csv.gz: not a readable gzip file",)),
    "gzip that is not": (_raw("fer.csv.gz", b"emotion,pixels\n0,1 2 3\n"), ("fer.csv.gz: not a readable gzip file",)),
    "zip that is not": (_raw("fer.zip", b"PK\x03\x04 not really"), ("fer.zip: not a readable zip",)),
    "zip without csv": (_raw("fer.zip", _zip({"readme.txt": b"hi"})), ("fer.zip: expected one .csv", "found 0")),
    "zip with two csv": (
        _raw("fer.zip", _zip({"a.csv": b"x", "b.csv": b"y"})),
        ("fer.zip: expected one .csv inside the zip, found 2",),
    ),
    "zip encrypted": (
        _raw("fer.zip", _zip({"fer.csv": _csv_bytes()}, _set_zip_field(6, 8, b"\x01\x00"))),
        ("fer.zip: fer.csv is encrypted",),
    ),
    "zip unknown method": (
        _raw("fer.zip", _zip({"fer.csv": _csv_bytes()}, _set_zip_field(8, 10, b"\x63\x00"))),
        ("fer.zip: not a readable zip",),
    ),
    "zip corrupt deflate": (
        _raw("fer.zip", _zip({"fer.csv": _csv_bytes()}, _corrupt_deflate)),
        ("fer.zip: not a readable zip",),
    ),
    "zip bomb": (
        _raw("fer.zip", _zip({"fer.csv": b"emotion,pixels\n" + b"0" * 20_000_000})),
        ("fer.zip: fer.csv inflates 100x or more",),
    ),
    "missing file": (lambda tmp: ["ingest", tmp / "nothing.csv", "--out", tmp / "out"], ("nothing.csv: no such file",)),
    "name with a newline": (
        _fer_csv("emotion", "9", name="two\nlines.csv"),
        ("two\\nlines.csv: row 3 (line 4)", "unknown label '9'"),
    ),
    "name not UTF-8": (
        _fer_csv("emotion", "9", name=os.fsdecode(b"caf\xe9.csv")),
        ("caf\\xe9.csv: row 3 (line 4)",),
    ),
}


# ---- FER+ --------------------------------------------------------------------------------------------------

_FERPLUS_HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"


def _ferplus(vote: str = "0", header: str = _FERPLUS_HEADER, rows: int | None = None) -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        _fer_csv()(tmp)
        usages = [line.rsplit(",", 1)[1] for line in _LINES[1:]][: rows or len(_LINES) - 1]
        lines = [header] + [f"{u},fer{i:07d}.png,10,0,0,0,0,0,0,0,0,0" for i, u in enumerate(usages)]
        lines[3] = lines[3].replace(",10,", f",{vote},", 1)
        (tmp / "fer2013new.csv").write_text("\n".join(lines) + "\n")
        return ["ingest", tmp / "fer.csv", "--ferplus", tmp / "fer2013new.csv", "--out", tmp / "out"]

    return build


FERPLUS_CASES = {
    "vote 1.5": (_ferplus("1.5"), ("fer2013new.csv: row 3 (line 4)", "integers 0..10", "'1.5'")),
    "vote inf": (_ferplus("inf"), ("fer2013new.csv: row 3 (line 4)", "'inf'")),
    "vote -1": (_ferplus("-1"), ("row 3 (line 4)", "'-1'")),
    "vote 11": (_ferplus("11"), ("row 3 (line 4)", "integers 0..10")),
    "vote unicode": (_ferplus("٣"), ("row 3 (line 4)", "'٣'")),
    "column missing": (_ferplus(header=_FERPLUS_HEADER.replace(",NF", ",nf")), ("missing column 'NF'",)),
    "column twice": (_ferplus(header=_FERPLUS_HEADER.replace("contempt", "fear")), ("column 'fear' appears twice",)),
    "rows short": (_ferplus(rows=50), ("fer2013new.csv: 50 rows but", "has 70")),
}


# ---- FER2013 folders ---------------------------------------------------------------------------------------


def _folders(mutate: Callable[[Path], None]) -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        root = tmp / "fer"
        for i, (image, label) in enumerate(zip(FACES[0], FACES[1], strict=True)):
            folder = root / ("test", "validation", "train", "train", "train")[i % 5] / CLASS_NAMES[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{i}.png")
        mutate(root)
        return ["ingest", root, "--out", tmp / "out"]

    return build


def _write(relative: str, data: bytes) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)

    return mutate


def _png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg_bytes(size: tuple[int, int] = (60, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def _link_out(root: Path) -> None:
    (root.parent / "secret.png").write_bytes(_png_bytes(FACES[0][0]))
    (root / "train" / "happy" / "link.png").symlink_to(root.parent / "secret.png")


FOLDER_CASES = {
    "truncated png": (_folders(_write("train/fear/bad.png", _png_bytes(FACES[0][0])[:60])), ("bad.png: ",)),
    "text named png": (_folders(_write("train/sad/notes.png", b"just text")), ("notes.png: not a readable image",)),
    "truncated jpeg": (_folders(_write("train/angry/cut.jpg", _jpeg_bytes()[:200])), ("cut.jpg: ",)),
    "unknown class": (_folders(_write("train/bored/x.png", _png_bytes(FACES[0][0]))), ("bored: unknown class name",)),
    "unknown split": (
        _folders(_write("holdout/sad/x.png", _png_bytes(FACES[0][0]))),
        ("holdout: unknown split folder",),
    ),
    "empty class": (_folders(lambda root: (root / "train" / "calm").mkdir()), ("calm: ",)),
    "link outside": (_folders(_link_out), ("link.png: links outside the dataset root",)),
}


# ---- ExpW, AffectNet, RAF-DB -------------------------------------------------------------------------------


def _photo(path: Path, size: tuple[int, int] = (120, 90)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_jpeg_bytes(size))


def _expw(bad_line: str) -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        root = tmp / "expw"
        _photo(root / "image" / "origin" / "a.jpg")
        (root / "label").mkdir(parents=True)
        (root / "label" / "label.lst").write_text(f"a.jpg 0 10 5 45 70 0.9 3\n{bad_line}\n")
        return ["ingest", root, "--out", tmp / "out"]

    return build


EXPW_CASES = {
    "inf coordinate": (_expw("a.jpg 1 inf 5 45 70 0.9 3"), ("label.lst line 2", "integer coordinates")),
    "float coordinate": (_expw("a.jpg 1 1e3 5 45 70 0.9 3"), ("label.lst line 2", "integer coordinates")),
    "nan confidence": (_expw("a.jpg 1 10 5 45 70 nan 3"), ("label.lst line 2", "finite confidence")),
    "label superscript": (_expw("a.jpg 1 10 5 45 70 0.9 ²"), ("label.lst line 2", "unknown label '²'")),
    "label 7": (_expw("a.jpg 1 10 5 45 70 0.9 7"), ("label.lst line 2", "unknown label 7")),
    "too few fields": (_expw("a.jpg 1 10 5 45"), ("label.lst line 2", "expected 'image face top")),
    "path escape": (_expw("../../etc/passwd 1 10 5 45 70 0.9 3"), ("line 2", "points outside the dataset root")),
    "absolute path": (_expw("/etc/passwd 1 10 5 45 70 0.9 3"), ("line 2", "points outside the dataset root")),
    "empty box": (_expw("a.jpg 1 10 50 45 70 0.9 3"), ("label.lst line 2", "face box of zero area")),
    "missing photo": (_expw("b.jpg 1 10 5 45 70 0.9 3"), ("b.jpg (", "label.lst line 2)", "no such image file")),
}


def _expw_not_utf8(tmp: Path) -> list:
    root = tmp / "expw"
    _photo(root / "image" / "origin" / "a.jpg")
    (root / "label").mkdir(parents=True)
    (root / "label" / "label.lst").write_bytes(b"a.jpg 0 10 5 45 70 0.9 3\n\xff\xfe 1 2 3\n")
    return ["ingest", root, "--out", tmp / "out"]


EXPW_CASES["label file not UTF-8"] = (_expw_not_utf8, ("label.lst: not a text label file",))

_AFFECTNET_HEADER = (
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
)


def _affectnet_official(bad_line: str) -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        root = tmp / "affectnet"
        _photo(root / "Manually_Annotated_Images" / "1" / "a.jpg", (80, 80))
        lists = root / "Manually_Annotated_file_lists"
        lists.mkdir(parents=True)
        (lists / "training.csv").write_text(f"{_AFFECTNET_HEADER}\n1/a.jpg,10,12,50,50,1;2,3,0.1,0.2\n{bad_line}\n")
        (lists / "validation.csv").write_text("1/a.jpg,10,12,50,50,1;2,3,0.1,0.2\n")
        return ["ingest", root, "--out", tmp / "out"]

    return build


def _affectnet_npy(annotation: Callable[[Path], None]) -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        root = tmp / "affectnet"
        for folder in ("train_set", "val_set"):
            _photo(root / folder / "images" / "0.jpg", (64, 64))
            (root / folder / "annotations").mkdir(parents=True)
            np.save(root / folder / "annotations" / "0_exp.npy", np.array("3"))
        annotation(root / "train_set" / "annotations" / "1_exp.npy")
        _photo(root / "train_set" / "images" / "1.jpg", (64, 64))
        return ["ingest", root, "--out", tmp / "out"]

    return build


def _affectnet_kaggle(lines: list[str]) -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        root = tmp / "affectnet"
        _photo(root / "happy" / "a.png", (96, 96))
        (root / "labels.csv").write_text("\n".join(lines) + "\n")
        return ["ingest", root, "--out", tmp / "out"]

    return build


AFFECTNET_CASES = {
    "official unbalanced quote": (_affectnet_official('"1/a.jpg,10,12,50,50,1;2,3,0.1,0.2'), ("training.csv line 3",)),
    "official inf box": (_affectnet_official("1/a.jpg,inf,12,50,50,1;2,3,0.1,0.2"), ("training.csv line 3", "integer")),
    "official superscript": (_affectnet_official("1/a.jpg,10,12,50,50,1;2,²,0.1,0.2"), ("line 3", "code '²'")),
    "official code 11": (_affectnet_official("1/a.jpg,10,12,50,50,1;2,11,0.1,0.2"), ("line 3", "code 11")),
    "official path escape": (_affectnet_official("../x.jpg,10,12,50,50,1;2,3,0.1,0.2"), ("line 3", "outside")),
    "official too few fields": (_affectnet_official("1/a.jpg,10,12"), ("training.csv line 3", "expected")),
    "npy empty file": (_affectnet_npy(lambda p: p.write_bytes(b"")), ("1_exp.npy: not a one-value",)),
    "npy float": (_affectnet_npy(lambda p: np.save(p, np.array(1.5))), ("1_exp.npy: not a one-value integer",)),
    "npy two values": (_affectnet_npy(lambda p: np.save(p, np.array([1, 2]))), ("1_exp.npy: not a one-value",)),
    "npy superscript": (_affectnet_npy(lambda p: np.save(p, np.array("²"))), ("1_exp.npy: unknown expression",)),
    "kaggle column twice": (_affectnet_kaggle([",pth,label,label", "0,happy/a.png,happy,x"]), ("appears twice",)),
    "kaggle unknown class": (
        _affectnet_kaggle([",pth,label,relFCs", "0,happy/a.png,bored,0.9"]),
        ("labels.csv line 2", "unknown class name 'bored'"),
    ),
    "kaggle unbalanced quote": (
        _affectnet_kaggle([",pth,label,relFCs", '0,"happy/a.png,happy,0.9']),
        ("labels.csv line 2", "comma-separated"),
    ),
}


def _rafdb(bad_line: str) -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        root = tmp / "rafdb"
        _photo(root / "Image" / "aligned" / "train_00001_aligned.jpg", (100, 100))
        (root / "EmoLabel").mkdir(parents=True)
        (root / "EmoLabel" / "list_patition_label.txt").write_text(f"train_00001.jpg 4\n{bad_line}\n")
        return ["ingest", root, "--out", tmp / "out"]

    return build


RAFDB_CASES = {
    "label superscript": (_rafdb("train_00002.jpg ²"), ("list_patition_label.txt line 2", "unknown label '²'")),
    "label 8": (_rafdb("train_00002.jpg 8"), ("line 2", "unknown label 8 (RAF-DB has 1..7)")),
    "no split prefix": (_rafdb("val_00002.jpg 3"), ("line 2", "neither train_ nor test_")),
    "three fields": (_rafdb("train_00002.jpg 3 4"), ("line 2", "expected 'NAME LABEL'")),
    "missing image": (_rafdb("train_00002.jpg 3"), ("train_00002_aligned.jpg", "line 2", "no such image file")),
}


# ---- build, params ------------------------------------------------------------------------------------------


def _dataset(tmp: Path, train_labels: np.ndarray | None = None) -> Path:
    """A small dataset directory written by the store (train with the given labels)."""
    root = tmp / "ds"
    root.mkdir()
    for name, count in (("train", 40), ("val", 14), ("test", 14)):
        labels = train_labels if name == "train" and train_labels is not None else np.arange(count) % 7
        images = RNG.integers(0, 256, (len(labels), 48, 48), dtype=np.uint8)
        ids = np.array([f"{name}:{i}" for i in range(len(labels))])
        save_split(Split.from_source(images, labels, ids), root / f"{name}.npz")
    return root


def _build(
    variant: str = "smote",
    labels: np.ndarray | None = None,
    params: str | bytes | None = None,
    mutate: Callable[[Path], None] | None = None,
) -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        data = _dataset(tmp, labels)
        if mutate:
            mutate(data)
        args = ["build", "--variant", variant, "--data", data, "--out", tmp / "out"]
        if params is not None:
            (tmp / "p.yaml").write_bytes(params if isinstance(params, bytes) else params.encode())
            args += ["--params", tmp / "p.yaml"]
        return args

    return build


BUILD_CASES = {
    "smote on one class": (_build(labels=np.zeros(40, int)), ("ds/train.npz: variant smote",)),
    "smote on no rows": (_build(labels=np.zeros(0, int)), ("ds/train.npz: variant smote",)),
    "smotetomek on one class": (_build("smotetomek", labels=np.full(40, 3)), ("ds/train.npz: variant smotetomek",)),
    "unknown variant": (_build("smoth"), ("unknown variant 'smoth'",)),
    "split not a zip": (
        _build(mutate=lambda d: (d / "train.npz").write_bytes(b"nope")),
        ("train.npz: not a readable",),
    ),
    "split missing": (_build(mutate=lambda d: (d / "val.npz").unlink()), ("val.npz: no such split file",)),
    "split without labels": (
        _build(
            mutate=lambda d: np.savez(d / "test.npz", images=np.zeros((2, 48, 48), np.uint8), ids=np.array(["a", "b"]))
        ),
        ("test.npz: not a ferdata split, missing labels",),
    ),
    "variant name escapes": (
        _build("x", params="build:\n  variants:\n    ../../x: {steps: [ros]}\n"),
        ("p.yaml: build: variant name '../../x' is not a plain name",),
    ),
    "variant name hidden": (
        _build("x", params="build:\n  variants:\n    .x: {steps: [ros]}\n"),
        ("p.yaml: build: variant name '.x' is not a plain name",),
    ),
    "params not UTF-8": (_build(params=b"seed: 1\n# caf\xe9\n"), ("p.yaml: not UTF-8 text",)),
    "params bad YAML": (_build(params="seed: [1\n"), ("p.yaml: not readable YAML",)),
    "params unknown key": (_build(params="sede: 1\n"), ("p.yaml: sede: unknown key",)),
    "params unknown step": (
        _build("mine", params="build:\n  variants:\n    mine: {steps: [smoth]}\n"),
        ("p.yaml: build.variants.mine: unknown step 'smoth'",),
    ),
}


# ---- output paths ------------------------------------------------------------------------------------------


def _user_folder(tmp: Path) -> list:
    _fer_csv()(tmp)
    (tmp / "out").mkdir()
    (tmp / "out" / "thesis.tex").write_text("three years of work")
    return ["ingest", tmp / "fer.csv", "--out", tmp / "out"]


def _out_is(out: Callable[[Path], Path], source: str = "csv") -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        path = _fer_csv()(tmp)[1] if source == "csv" else _folders(lambda root: None)(tmp)[1]
        return ["ingest", path, "--out", out(tmp)]

    return build


def _out_contains(tmp: Path) -> list:
    (tmp / "data").mkdir()
    return ["ingest", _fer_csv()(tmp / "data")[1], "--out", tmp / "data"]


def _file_parent(tmp: Path) -> list:
    _fer_csv()(tmp)
    (tmp / "notes").write_text("a file")
    return ["ingest", tmp / "fer.csv", "--out", tmp / "notes" / "out"]


def _other_kind(tmp: Path) -> list:
    _fer_csv()(tmp)
    (tmp / "out").mkdir()
    write_marker(tmp / "out", "variant")
    (tmp / "out" / "train.npz").write_bytes(b"a variant's")
    return ["ingest", tmp / "fer.csv", "--out", tmp / "out"]


def _symlink_out(tmp: Path) -> list:
    _fer_csv()(tmp)
    (tmp / "elsewhere").mkdir()
    (tmp / "out").symlink_to(tmp / "elsewhere")
    return ["ingest", tmp / "fer.csv", "--out", tmp / "out"]


def _synth_over(tmp: Path) -> list:
    (tmp / "mine.csv").write_text("emotion,pixels,Usage\n")
    return ["synth", "--out", tmp / "mine.csv", "--rows", "70"]


def _audit_over(tmp: Path) -> list:
    data = _dataset(tmp)
    (tmp / "report.json").write_text("{}")
    return ["audit", data, "--out", tmp / "report.json"]


def _audit_over_input(tmp: Path) -> list:
    data = _dataset(tmp)
    return ["audit", data, "--out", data / "train.npz", "--force"]


OUTPUT_CASES = {
    "user folder": (_user_folder, ("out: exists and was not written by ferdata",)),
    "out is the input folder": (_out_is(lambda t: t / "fer", "folders"), ("fer: the output would replace the input",)),
    "out inside the input": (_out_is(lambda t: t / "fer" / "train", "folders"), ("would lie inside the input",)),
    "out is the csv": (_out_is(lambda t: t / "fer.csv"), ("fer.csv: the output would replace the input",)),
    "out contains the input": (_out_contains, ("data: the output would contain the input",)),
    "out is here": (lambda t: ["ingest", _fer_csv()(t)[1], "--out", "."], (".: refusing to write an output over",)),
    "out is a parent": (lambda t: ["ingest", _fer_csv()(t)[1], "--out", ".."], ("..: refusing to write",)),
    "out under a file": (_file_parent, ("notes is a file, not a folder",)),
    "out of another kind": (_other_kind, ("out: holds a ferdata variant, not a dataset; pass --force",)),
    "out a symlink": (_symlink_out, ("out: is a symbolic link",)),
    "build over its input": (
        lambda t: ["build", "--variant", "ros", "--data", _dataset(t), "--out", t / "ds"],
        ("ds: the output would replace the input",),
    ),
    "build inside its input": (
        lambda t: ["build", "--variant", "ros", "--data", _dataset(t), "--out", t / "ds" / "v"],
        ("would lie inside the input",),
    ),
    "synth over a file": (_synth_over, ("mine.csv: exists; pass --force",)),
    "audit over a file": (_audit_over, ("report.json: exists; pass --force",)),
    "audit over its input": (_audit_over_input, ("train.npz: the output would replace the input",)),
}

CASES = {
    f"{group} {name}": Case(*case)
    for group, cases in (
        ("fer2013-csv", FER_CSV_CASES),
        ("ferplus", FERPLUS_CASES),
        ("folders", FOLDER_CASES),
        ("expw", EXPW_CASES),
        ("affectnet", AFFECTNET_CASES),
        ("rafdb", RAFDB_CASES),
        ("build", BUILD_CASES),
        ("output", OUTPUT_CASES),
    )
    for name, case in cases.items()
}


def test_the_corpus_is_large():
    assert len(CASES) >= 100


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_ends_in_one_line_and_changes_nothing(tmp_path, name):
    case = CASES[name]
    work = tmp_path / "work"
    work.mkdir()
    args = case.build(work)
    before = snapshot(tmp_path)
    status, stderr = run_in_process(args, work)
    assert status == 1, stderr
    assert stderr.startswith("ferdata: error: ") and stderr.count("\n") == 1, stderr
    for expected in case.expect:
        assert expected in stderr, stderr
    assert "Traceback" not in stderr
    assert snapshot(tmp_path) == before  # no output, no temporary file, nothing of the user's touched


def test_errors_exit_1_in_a_real_process(tmp_path):
    args = FER_CSV_CASES["label superscript two"][0](tmp_path)
    result = run_cli(*args)
    assert result.returncode == 1 and result.stdout == ""
    assert (
        result.stderr
        == f"ferdata: error: {tmp_path / 'fer.csv'}: row 3 (line 4): unknown label '²' (expected an integer 0..6)\n"
    )


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    """A write the machine refuses halfway (here a file-size limit, as a full disk would) ends in one line."""
    args = _fer_csv()(tmp_path)
    before = snapshot(tmp_path)
    code = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000)); "
        "sys.argv = ['ferdata', *sys.argv[1:]]; from ferdata.cli import main; main()"
    )
    result = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("ferdata: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "File too large" in result.stderr and "out" in result.stderr
    assert snapshot(tmp_path) == before


def test_force_replaces_only_ferdata_outputs(tmp_path):
    args = _other_kind(tmp_path)
    assert run_in_process([*args, "--force"], tmp_path)[0] == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [".ferdata.json", "card.json", "test.npz", "train.npz", "val.npz"]
    user = tmp_path / "user"
    user.mkdir()
    status, stderr = run_in_process([*_user_folder(user), "--force"], user)
    assert status == 1 and "not written by ferdata" in stderr
    assert (user / "out" / "thesis.tex").read_text() == "three years of work"


def _gzip_cap_case(tmp_path: Path, monkeypatch) -> None:
    import ferdata.sources.fer2013_csv as reader

    monkeypatch.setattr(reader, "MAX_INFLATED_BYTES", 100_000)  # a tiny cap stands for the real 2 GiB one
    (tmp_path / "fer.csv.gz").write_bytes(gzip.compress(_csv_bytes()))
    status, stderr = run_in_process(["ingest", tmp_path / "fer.csv.gz", "--out", tmp_path / "out"], tmp_path)
    assert status == 1 and "fer.csv.gz: inflates to more than 100,000 bytes" in stderr and stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_gzip_past_the_cap_stops_while_streaming(tmp_path, monkeypatch):
    _gzip_cap_case(tmp_path, monkeypatch)


def test_corpus_inputs_are_valid_without_the_fault(tmp_path):
    """The corpus's base inputs ingest cleanly, so each case fails for its one fault."""
    bases = {
        "csv": _fer_csv(),
        "folders": _folders(lambda root: None),
        "build": _build("ros"),
    }
    for name, build in bases.items():
        (tmp_path / name).mkdir()
        status, stderr = run_in_process(build(tmp_path / name), tmp_path / name)
        assert status == 0, (name, stderr)
