"""Property tests: the FER2013 CSV reader and a label-file reader agree with simple reference parsers written
here from the format's rules, on rows hypothesis makes hostile (Unicode digits, NULs, signs, blanks)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferdata.sections.ingest import IngestParams
from ferdata.sources.fer2013_csv import N_PIXELS, USAGES, format_fer2013_csv, read_fer2013_csv
from ferdata.sources.rafdb import RAFDB_TO_FER, RafDb
from ferdata.synth import synthesize

_FACES = synthesize(70, seed=9)
_BASE = format_fer2013_csv(*_FACES).decode().splitlines()[1:]
_ODD = "0123456789 -.²٣\0a\t"


def _reference_row_ok(emotion: str, pixels: str, usage: str) -> bool:
    """The format's rules, written plainly: a label is one ASCII digit 0..6 (a leading 0 allowed), pixels are
    2304 ASCII integers 0..255 of at most 3 digits separated by spaces or tabs, Usage is one of three names."""
    label = emotion.strip(" \t")
    label_ok = label.isascii() and label.isdigit() and len(label) <= 2 and int(label) <= 6 and label[:-1] in ("", "0")
    tokens = [t for t in pixels.replace("\t", " ").split(" ") if t]
    pixels_ok = (
        all(ch in "0123456789 \t" for ch in pixels)
        and len(tokens) == N_PIXELS
        and all(len(t) <= 3 and int(t) <= 255 for t in tokens)
    )
    return label_ok and pixels_ok and usage.strip(" \t") in USAGES


_field = st.text(alphabet=_ODD, max_size=3)
_rows = st.lists(
    st.tuples(
        st.integers(0, len(_BASE) - 1),
        st.one_of(st.sampled_from(["0", "6", "06", "7", " 3 ", "3\0", "²", "٣", "", "1.5", "-1"]), _field),
        st.one_of(st.none(), st.tuples(st.integers(0, N_PIXELS - 1), _field)),
        st.one_of(st.sampled_from([*USAGES, " Training ", "training", "Training\0"]), _field),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_rows)
def test_csv_reader_agrees_with_the_reference(tmp_path_factory, rows):
    lines, expected = ["emotion,pixels,Usage"], []
    for source, emotion, pixel, usage in rows:
        _, pixels, _ = _BASE[source].split(",")
        if pixel is not None:
            tokens = pixels.split(" ")
            tokens[pixel[0]] = pixel[1]
            pixels = " ".join(tokens)
        lines.append(f"{emotion},{pixels},{usage}")
        expected.append(_reference_row_ok(emotion, pixels, usage))
    path = tmp_path_factory.mktemp("csv") / "fer.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode())
    read = read_fer2013_csv(path, skip_bad=True)
    np.testing.assert_array_equal(read.rows, np.flatnonzero(expected))
    for kept, row in zip(read.rows, read.images, strict=True):
        source, emotion, _, _ = rows[kept]
        reference = np.array([int(t) for t in lines[kept + 1].split(",")[1].replace("\t", " ").split()], np.uint8)
        np.testing.assert_array_equal(row.ravel(), reference)
        assert read.labels[list(read.rows).index(kept)] == int(emotion.strip(" \t"))


def _reference_rafdb(line: str) -> str:
    """What one RAF-DB label line is: 'ok', or the kind of fault the reader counts."""
    fields = line.split()
    if len(fields) != 2:
        return "malformed_line"
    name, code = fields
    if name.split("_", 1)[0] not in ("train", "test"):
        return "unknown_split"
    if not (code.isascii() and code.isdigit()) or len(code) > 9 or int(code) not in RAFDB_TO_FER:
        return "unknown_label"
    return "ok"


_rafdb_lines = st.lists(
    st.builds(
        "{}{} {}".format,
        st.sampled_from(["train_", "test_", "val_", ""]),
        st.text(alphabet="0123456789abc", min_size=1, max_size=4),
        st.one_of(st.sampled_from(["1", "7", "8", "0", "07", "²", "٣", "3\0", "1.0", "-1"]), _field),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_rafdb_lines)
def test_rafdb_label_lines_agree_with_the_reference(tmp_path_factory, lines):
    root = tmp_path_factory.mktemp("rafdb")
    (root / "EmoLabel").mkdir()
    (root / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # No image exists: every well-formed line counts as unreadable.
    rows = RafDb().read(root, IngestParams(skip_bad=True))
    kinds = [_reference_rafdb(line) for line in lines if line.strip()]
    counted = dict(rows.notes["skipped"])
    assert counted.pop("unreadable_image", 0) == kinds.count("ok")
    assert counted == {kind: kinds.count(kind) for kind in set(kinds) - {"ok"}}
