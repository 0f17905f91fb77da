"""Auxiliary data: another ingested source's TRAIN rows added to this training split (e.g. ExpW's disgust and
fear faces to FER2013's), chosen by class and capped per class. Only the other source's training split is ever
read, so its val/test never reach training, and an added row whose pixels occur in this dataset's val or test
is dropped."""

from pathlib import Path

import numpy as np
from pydantic import Field

from ferdata.audit import rows_also_in
from ferdata.errors import FerdataError
from ferdata.labels import NUM_CLASSES, label_of_name
from ferdata.store import Split, concat, load_split
from ferdata.variants.base import Step, StepParams


class MergeParams(StepParams):
    data: str = Field("", description="another ingested dataset whose TRAIN split is added, e.g. data/splits/expw")
    classes: list[str] | None = Field(None, description="only these classes (by name); None: all")
    per_class: int | None = Field(None, ge=1, description="at most this many rows per class, drawn with the seed")


class Merge(Step):
    """Another source's training rows added."""

    name = "merge"
    kind = "merge"
    Params = MergeParams

    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        if not self.params.data:
            raise FerdataError("merge: set merge.data to the ingested dataset to take training rows from")
        other = load_split(Path(self.params.data) / "train.npz")
        wanted = [label_of_name(name) for name in self.params.classes] if self.params.classes else range(NUM_CLASSES)
        picked = []
        for label in wanted:
            rows = np.flatnonzero(other.labels == label)
            if self.params.per_class is not None and len(rows) > self.params.per_class:
                rows = np.sort(rng.choice(rows, self.params.per_class, replace=False))
            picked.append(rows)
        added = other.take(np.concatenate(picked))
        clash = np.isin(added.ids, train.ids)
        if clash.any():
            raise FerdataError(f"merge: {self.params.data} shares ids with this dataset (e.g. {added.ids[clash][0]})")
        duplicate = rows_also_in(added.images, self.held_out.images) if self.held_out is not None else clash
        self.dropped_ = added.ids[duplicate].tolist()
        added = added.take(~duplicate)
        self.added_ = np.bincount(added.labels, minlength=NUM_CLASSES).tolist()
        return concat([train, added])

    def inputs(self) -> list[Path]:
        return [Path(self.params.data)] if self.params.data else []

    def report(self) -> dict:
        return {
            "merged": {"data": self.params.data, "train_rows_added": self.added_},
            "dropped_as_val_test_duplicates": self.dropped_,
        }
