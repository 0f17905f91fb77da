"""ferdata's Python API: a dataset directory (an ingested dataset or a built variant) as numpy arrays.

import ferdata
data = ferdata.load("data/variants/smote")
data.train.images   # uint8 (N, 48, 48)
data.train.labels   # int8 (N,), FER2013's order: data.class_names
data.card["counts_after"]
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from ferdata.errors import FerdataError
from ferdata.labels import CLASS_NAMES
from ferdata.store import SPLITS, Split, load_dataset


@dataclass(frozen=True)
class Dataset:
    """The three splits of a ferdata dataset directory and the card that says how they were made."""

    path: Path
    train: Split
    val: Split
    test: Split
    card: dict = field(default_factory=dict)  # card.json beside the splits ({} when there is none)
    class_names: tuple[str, ...] = CLASS_NAMES

    def split(self, name: str) -> Split:
        """A split by name: train, val or test."""
        if name not in SPLITS:
            raise FerdataError(f"unknown split {name!r} (known: {', '.join(SPLITS)})")
        return getattr(self, name)


def load(path: str | Path) -> Dataset:
    """Read a dataset directory written by `ferdata ingest` or `ferdata build`; every problem names the file."""
    directory = Path(path)
    splits = load_dataset(directory)
    card_path = directory / "card.json"
    try:
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise FerdataError(f"{card_path}: not a readable card ({exc})") from None
    return Dataset(directory, **splits, card=card)
