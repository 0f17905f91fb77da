"""RAF-DB (basic): `EmoLabel/list_patition_label.txt` lines `train_00001.jpg 5`, images in `Image/aligned/`
(`train_00001_aligned.jpg`, 100x100 colour). Labels 1..7 are RAF-DB's order; the split is official, by prefix."""

from pathlib import Path

from ferdata.sections.ingest import IngestParams
from ferdata.sources.base import Source, SourceRows
from ferdata.sources.fields import ascii_int, shown
from ferdata.sources.listed import BadLines, Entry, read_lines, rows_from_entries

LABEL_FILE = "EmoLabel/list_patition_label.txt"
# RAF-DB 1 Surprise, 2 Fear, 3 Disgust, 4 Happiness, 5 Sadness, 6 Anger, 7 Neutral -> FER2013's order.
RAFDB_TO_FER = {1: 5, 2: 2, 3: 1, 4: 3, 5: 4, 6: 0, 7: 6}
ROLES = {"train": "train", "test": "test"}


class RafDb(Source):
    """RAF-DB basic: aligned 100x100 faces listed in EmoLabel/list_patition_label.txt."""

    name = "rafdb"

    def detect(self, path: Path) -> bool:
        return (path / LABEL_FILE).is_file()

    def read(self, path: Path, params: IngestParams) -> SourceRows:
        return _read(path, params.skip_bad)


def _read(root: Path, skip_bad: bool) -> SourceRows:
    label_file = root / LABEL_FILE
    bad = BadLines(skip_bad)
    entries = []
    for number, line in read_lines(label_file):
        where = f"{label_file} line {number}"
        fields = line.split()
        if len(fields) != 2:
            bad.bad(where, f"expected 'NAME LABEL', got {line!r}", "malformed_line")
            continue
        name, code = fields[0], ascii_int(fields[1], 0, 99)
        role = ROLES.get(name.split("_", 1)[0])
        if role is None:
            bad.bad(where, f"{name!r} starts with neither train_ nor test_", "unknown_split")
            continue
        if code not in RAFDB_TO_FER:
            bad.bad(where, f"unknown label {shown(fields[1])} (RAF-DB has 1..7)", "unknown_label")
            continue
        stem, _, suffix = name.rpartition(".")
        entries.append(Entry(f"{stem}_aligned.{suffix}", RAFDB_TO_FER[code], role, name, None, where))
    images = root / "Image" / "aligned"
    return rows_from_entries("rafdb", "rafdb-basic", root, images, entries, skip_bad, {"skipped": bad.counts}, True)
