"""AffectNet in its three shipped layouts, mapped to FER2013's seven classes (contempt, none, uncertain and
no-face dropped and counted):

- official: `Manually_Annotated_file_lists/{training,validation}.csv` (training with a header, validation
  without) and `Manually_Annotated_Images/`; faces cropped by their box. Validation is the test split.
- newer: `train_set/` and `val_set/`, each `images/N.jpg` with `annotations/N_exp.npy`; already cropped.
  `val_set` is the test split.
- Kaggle 96x96 copy: class folders plus `labels.csv` (`,pth,label,relFCs`); no split (carved at ingest), and
  its labels are partly model-made, which the card says.
Validation is carved from train in every layout.
"""

import csv
from pathlib import Path

import numpy as np

from ferdata.errors import FerdataError
from ferdata.labels import label_of_name
from ferdata.sections.ingest import IngestParams
from ferdata.sources.base import Source, SourceRows
from ferdata.sources.fields import ascii_coordinate, ascii_int, repeated_name, shown
from ferdata.sources.listed import BadLines, Entry, read_lines, rows_from_entries

# AffectNet 0 Neutral, 1 Happy, 2 Sad, 3 Surprise, 4 Fear, 5 Disgust, 6 Anger -> FER2013's order.
AFFECTNET_TO_FER = {0: 6, 1: 3, 2: 4, 3: 5, 4: 2, 5: 1, 6: 0}
DROPPED = {7: "contempt", 8: "none", 9: "uncertain", 10: "no_face"}
OFFICIAL_LISTS = "Manually_Annotated_file_lists"
KAGGLE_NOTE = "labels of the Kaggle 96x96 copy are partly model-made, not all human annotations"


def affectnet_layout(path: Path) -> str | None:
    if (path / OFFICIAL_LISTS / "training.csv").is_file():
        return "official"
    if (path / "train_set" / "annotations").is_dir():
        return "npy"
    if (path / "labels.csv").is_file():
        return "kaggle"
    return None


class AffectNet(Source):
    """AffectNet in its official, newer (.npy annotations) or Kaggle 96x96 layout."""

    name = "affectnet"

    def detect(self, path: Path) -> bool:
        return affectnet_layout(path) is not None

    def read(self, path: Path, params: IngestParams) -> SourceRows:
        return _read(path, params.skip_bad)


def _read(root: Path, skip_bad: bool) -> SourceRows:
    layout = affectnet_layout(root)
    bad, dropped = BadLines(skip_bad), {}
    if layout == "official":
        entries = [
            *_official(root / OFFICIAL_LISTS / "training.csv", "train", True, bad, dropped),
            *_official(root / OFFICIAL_LISTS / "validation.csv", "test", False, bad, dropped),
        ]
        images, notes = root / "Manually_Annotated_Images", {}
    elif layout == "npy":
        entries = [*_npy(root, "train_set", "train", bad, dropped), *_npy(root, "val_set", "test", bad, dropped)]
        images, notes = root, {}
    elif layout == "kaggle":
        entries, images, notes = _kaggle(root, bad, dropped), root, {"label_quality": KAGGLE_NOTE}
    else:
        raise FerdataError(f"{root}: not an AffectNet layout (no {OFFICIAL_LISTS}/, train_set/ or labels.csv)")
    notes |= {"skipped": bad.counts, "dropped_classes": dropped}
    official = layout != "kaggle"
    return rows_from_entries("affectnet", f"affectnet-{layout}", root, images, entries, skip_bad, notes, official)


def _mapped(text: str, where: str, bad: BadLines, dropped: dict) -> int | None:
    code = ascii_int(text, 0, 99)
    if code in DROPPED:
        dropped[DROPPED[code]] = dropped.get(DROPPED[code], 0) + 1
        return None
    if code not in AFFECTNET_TO_FER:
        bad.bad(where, f"unknown expression code {shown(text)} (AffectNet has 0..10)", "unknown_label")
        return None
    return AFFECTNET_TO_FER[code]


def _csv_fields(text: str) -> list[str] | None:
    """One CSV line's fields, or None when it does not parse on its own (an unbalanced quote)."""
    try:
        return next(csv.reader([text], strict=True), [])
    except csv.Error:
        return None


def _official(path: Path, role: str, header: bool, bad: BadLines, dropped: dict) -> list[Entry]:
    lines = read_lines(path)[1 if header else 0 :]
    entries = []
    for number, text in lines:
        where = f"{path} line {number}"
        fields = _csv_fields(text) or []
        box = [ascii_coordinate(v.strip()) for v in fields[1:5]]
        if len(fields) < 7 or None in box:
            bad.bad(
                where,
                "expected 'subDirectory_filePath,face_x,face_y,face_width,face_height,...,expression' "
                "with integer box values",
                "malformed_line",
            )
            continue
        relative, code = fields[0], fields[6].strip()
        x, y, width, height = box
        if width <= 0 or height <= 0:
            bad.bad(where, f"face box of zero area ({width}x{height})", "empty_box")
            continue
        label = _mapped(code, where, bad, dropped)
        if label is not None:
            entries.append(Entry(relative, label, role, relative, (x, y, x + width, y + height), where))
    return entries


def _npy(root: Path, folder: str, role: str, bad: BadLines, dropped: dict) -> list[Entry]:
    annotations = root / folder / "annotations"
    if not annotations.is_dir():
        return []
    entries = []
    for path in sorted(annotations.glob("*_exp.npy"), key=lambda p: (len(p.name), p.name)):
        number = path.name.removesuffix("_exp.npy")
        where = str(path)
        code = _annotation(path)
        if code is None:
            bad.bad(where, "not a one-value integer expression annotation", "malformed_annotation")
            continue
        label = _mapped(code, where, bad, dropped)
        if label is not None:
            relative = f"{folder}/images/{number}.jpg"
            entries.append(Entry(relative, label, role, relative, None, where))
    return entries


def _annotation(path: Path) -> str | None:
    """The expression code an `N_exp.npy` holds, as text (AffectNet stores it as a string or an integer)."""
    try:
        value = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError):
        return None
    if value.size != 1 or value.dtype.kind not in "iuUS":
        return None
    item = value.reshape(()).item()
    return item.decode("ascii", "replace") if isinstance(item, bytes) else str(item)


def _kaggle(root: Path, bad: BadLines, dropped: dict) -> list[Entry]:
    path = root / "labels.csv"
    lines = read_lines(path)
    header = _csv_fields(lines[0][1]) if lines else []
    if header is None or "pth" not in header or "label" not in header:
        raise FerdataError(f"{path}: missing column 'pth' or 'label' (header {lines[0][1] if lines else ''!r})")
    if (twice := repeated_name(header)) is not None:
        raise FerdataError(f"{path}: column {twice!r} appears twice in the header")
    column_path, column_label = header.index("pth"), header.index("label")
    entries = []
    for number, text in lines[1:]:
        where = f"{path} line {number}"
        fields = _csv_fields(text)
        if fields is None or len(fields) != len(header):
            bad.bad(
                where, f"expected {len(header)} comma-separated fields like the header, got {text!r}", "malformed_line"
            )
            continue
        relative, name = fields[column_path], fields[column_label]
        if name.strip().lower() == "contempt":
            dropped["contempt"] = dropped.get("contempt", 0) + 1
            continue
        try:
            label = label_of_name(name)
        except FerdataError as exc:
            bad.bad(where, str(exc), "unknown_label")
            continue
        entries.append(Entry(relative, label, "train", relative, None, where))
    return entries
