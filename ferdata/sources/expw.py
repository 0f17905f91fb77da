"""ExpW: `label/label.lst` lines `image_name face_id top left right bottom confidence label` (labels in
FER2013's order), full photos in `image/origin/`. Each face box is cropped (clipped to the photo); faces below
the box-confidence threshold and repeated lines are dropped; there is no official split, so ingest carves one
by photo (the faces of one photo never span two splits)."""

from pathlib import Path

from ferdata.labels import NUM_CLASSES
from ferdata.sections.ingest import IngestParams
from ferdata.sources.base import Source, SourceRows
from ferdata.sources.fields import ascii_coordinate, ascii_decimal, ascii_int, shown
from ferdata.sources.listed import BadLines, Entry, read_lines, rows_from_entries

LABEL_FILE = "label/label.lst"


class ExpW(Source):
    """ExpW: faces boxed in full photos, listed in label/label.lst."""

    name = "expw"

    def detect(self, path: Path) -> bool:
        return (path / LABEL_FILE).is_file()

    def read(self, path: Path, params: IngestParams) -> SourceRows:
        return _read(path, params.skip_bad, params.min_face_confidence)


def _read(root: Path, skip_bad: bool, min_confidence: float) -> SourceRows:
    label_file = root / LABEL_FILE
    bad = BadLines(skip_bad)
    entries, seen, duplicates, unsure = [], set(), 0, 0
    for number, line in read_lines(label_file):
        where = f"{label_file} line {number}"
        fields = line.split()
        coordinates = [ascii_coordinate(v) for v in fields[2:6]]
        confidence = ascii_decimal(fields[6]) if len(fields) == 8 else None
        if len(fields) != 8 or None in coordinates or confidence is None:
            bad.bad(
                where,
                f"expected 'image face top left right bottom confidence label' with integer coordinates and a "
                f"finite confidence, got {line!r}",
                "malformed_line",
            )
            continue
        name, face = fields[0], fields[1]
        top, left, right, bottom = coordinates
        label = ascii_int(fields[7], 0, NUM_CLASSES - 1)
        if label is None:
            bad.bad(where, f"unknown label {shown(fields[7])} (ExpW has 0..6)", "unknown_label")
            continue
        if right <= left or bottom <= top:
            bad.bad(
                where, f"face box of zero area (top {top}, left {left}, right {right}, bottom {bottom})", "empty_box"
            )
            continue
        if (name, face) in seen:
            duplicates += 1
            continue
        seen.add((name, face))
        if confidence < min_confidence:
            unsure += 1
            continue
        entries.append(Entry(name, label, "train", name, (left, top, right, bottom), where))
    notes = {"skipped": bad.counts, "duplicate_lines": duplicates, "below_min_confidence": unsure}
    return rows_from_entries("expw", "expw", root, root / "image" / "origin", entries, skip_bad, notes, False)
