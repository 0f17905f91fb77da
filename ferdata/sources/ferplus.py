"""FER+ relabelling of FER2013 rows by the majority rule of the FER+ paper.

`fer2013new.csv` has one row per FER2013 row, in the same order, with 10 annotators' votes. Rule: votes of
1 or less become 0; the label is the argmax when it holds more than half of the remaining votes, otherwise
the row is unknown. Unknown, not-a-face (NF) and contempt rows are dropped (FER2013 has no contempt class).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ferdata.errors import FerdataError

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


@dataclass(frozen=True)
class FerPlusLabels:
    labels: np.ndarray  # int8 (rows,) FER2013 label per FER2013 row, -1 where the row is dropped
    usage: np.ndarray  # str (rows,)
    dropped: dict[str, int]  # reason -> rows


def read_ferplus(path: Path) -> FerPlusLabels:
    try:
        table = pd.read_csv(path, dtype={"Usage": str, "Image name": str}, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise FerdataError(f"{path}: not a readable FER+ CSV ({exc})") from None
    missing = [c for c in ("Usage", *VOTE_COLUMNS) if c not in table.columns]
    if missing:
        raise FerdataError(
            f"{path}: missing column {missing[0]!r} (a FER+ fer2013new.csv has {', '.join(VOTE_COLUMNS)})"
        )
    votes = table[list(VOTE_COLUMNS)].apply(pd.to_numeric, errors="coerce").to_numpy()
    bad = np.flatnonzero(np.isnan(votes).any(axis=1) | (votes < 0).any(axis=1))
    if bad.size:
        raise FerdataError(f"{path}: row {bad[0] + 1} (line {bad[0] + 2}): vote counts must be integers >= 0")
    votes = votes.astype(np.int64)
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
