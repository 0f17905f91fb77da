"""FER+ relabelling of FER2013 rows by the majority rule of the FER+ paper.

`fer2013new.csv` has one row per FER2013 row, in the same order, with 10 annotators' votes. Rule: votes of
1 or less become 0; the label is the argmax when it holds more than half of the remaining votes, otherwise
the row is unknown. Unknown, not-a-face (NF) and contempt rows are dropped (FER2013 has no contempt class).
"""

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ferdata.errors import FerdataError, first_line
from ferdata.sources.fields import repeated_name

# FER+ vote columns in file order, and the FER2013 label each maps to (-1: dropped).
VOTE_COLUMNS: dict[str, int] = {
    "neutral": 6,
    "happiness": 3,
    "surprise": 5,
    "sadness": 4,
    "anger": 0,
    "disgust": 1,
    "fear": 2,
    "contempt": -1,
    "unknown": -1,
    "NF": -1,
}


MAX_VOTES = 10  # FER+ has ten annotators per image


@dataclass(frozen=True)
class FerPlusLabels:
    labels: np.ndarray  # int8 (rows,) FER2013 label per FER2013 row, -1 where the row is dropped
    usage: np.ndarray  # str (rows,)
    dropped: dict[str, int]  # reason -> rows


def read_ferplus(path: Path) -> FerPlusLabels:
    import pandas as pd  # imported by FER+ runs only: a third of a second of every ingest's start otherwise

    try:
        with open(path, encoding="utf-8-sig", newline="") as stream:
            header = next(csv.reader(stream), [])
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, csv.Error, pd.errors.ParserError) as exc:
        raise FerdataError(f"{path}: not a readable FER+ CSV ({first_line(exc)})") from None
    if (twice := repeated_name(header)) is not None:
        raise FerdataError(f"{path}: column {twice!r} appears twice in the header")
    missing = [c for c in ("Usage", *VOTE_COLUMNS) if c not in table.columns]
    if missing:
        raise FerdataError(
            f"{path}: missing column {missing[0]!r} (a FER+ fer2013new.csv has {', '.join(VOTE_COLUMNS)})"
        )
    text = table[list(VOTE_COLUMNS)].apply(lambda column: column.str.strip())
    well_formed = text.apply(lambda column: column.str.fullmatch(r"[0-9]{1,2}")).to_numpy(dtype=bool)
    votes = np.where(well_formed, text.where(well_formed, "0").to_numpy(dtype=str), "0").astype(np.int64)
    bad = np.flatnonzero(~well_formed.all(axis=1) | (votes > MAX_VOTES).any(axis=1))
    if bad.size:
        row = bad[0]
        raise FerdataError(
            f"{path}: row {row + 1} (line {row + 2}): vote counts must be integers 0..{MAX_VOTES} "
            f"(got {', '.join(repr(v) for v in text.iloc[row].tolist())})"
        )
    votes[votes <= 1] = 0
    winner = votes.argmax(axis=1)
    majority = votes.max(axis=1) > 0.5 * votes.sum(axis=1)
    mapped = np.array(list(VOTE_COLUMNS.values()))[winner]
    names = np.array(list(VOTE_COLUMNS))[winner]
    labels = np.where(majority, mapped, -1).astype(np.int8)
    dropped = {"no_majority": int((~majority).sum())}
    for reason in ("contempt", "unknown", "NF"):
        dropped[reason] = int((majority & (names == reason)).sum())
    return FerPlusLabels(labels=labels, usage=table["Usage"].str.strip().to_numpy(dtype=str), dropped=dropped)
