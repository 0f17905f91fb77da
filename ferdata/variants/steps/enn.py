"""Edited nearest neighbours (imbalanced-learn's), with ferdata's neighbour search."""

from typing import Literal

import numpy as np
from pydantic import Field

from ferdata.store import Split
from ferdata.variants.base import Step, as_pixel_rows, imblearn_strategy
from ferdata.variants.sampling import class_changes, neighbor_search
from ferdata.variants.steps.tomek import CleaningParams


class EnnParams(CleaningParams):
    n_neighbors: int = Field(3, ge=1)
    kind_sel: Literal["all", "mode"] = "all"


class Enn(Step):
    """Remove rows their neighbours disagree with (ENN)."""

    name = "enn"
    kind = "cleaning"
    Params = EnnParams

    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        from imblearn.under_sampling import EditedNearestNeighbours

        strategy = imblearn_strategy(self.params.sampling_strategy)
        cleaned = np.isin(train.labels, list(class_changes(strategy, train.labels, "clean-sampling")))
        # ENN asks for each cleaned class's rows in turn: where they are most rows, one self-search answers all
        search = neighbor_search(self.neighbors, self.params.n_neighbors + 1, bool(2 * cleaned.sum() >= len(train)))
        sampler = EditedNearestNeighbours(sampling_strategy=strategy, n_neighbors=search, kind_sel=self.params.kind_sel)
        sampler.fit_resample(as_pixel_rows(train.images), train.labels)
        return train.take(np.sort(sampler.sample_indices_))
