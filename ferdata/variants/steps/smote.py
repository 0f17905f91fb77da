"""SMOTE (imbalanced-learn's), with ferdata's neighbour search and both parents of every new row recorded."""

from functools import cache

import numpy as np
from pydantic import Field

from ferdata.store import Split, concat
from ferdata.variants.base import (
    SamplingParams,
    Step,
    as_images,
    as_pixel_rows,
    derived,
    imblearn_strategy,
    seed_of,
)
from ferdata.variants.sampling import neighbor_search, require_class_sizes


class SmoteParams(SamplingParams):
    k_neighbors: int = Field(5, ge=1)


_BLOCK_ROWS = 2048  # new rows interpolated at a time: float temporaries of a few MiB, not of all new rows


@cache
def traced_smote() -> type:
    """imbalanced-learn's SMOTE on uint8 pixel rows, recording both parents of every synthetic row.

    Hooks `_generate_samples`, which SMOTE calls once per class with the base rows, neighbour columns and
    steps it drew: the parents are recorded there (the test battery checks every synthetic row lies between
    them), and the rows are made in SMOTE's own float arithmetic but stored as pixels, so SMOTE's copies and
    its final stack of all rows are uint8, a quarter of the float32 ones.
    """
    from imblearn.over_sampling import SMOTE

    class TracedSMOTE(SMOTE):
        def _fit_resample(self, X, y):
            self._fit_labels, self.parents_ = y, []
            return super()._fit_resample(X, y)

        def _generate_samples(self, X, nn_data, nn_num, rows, cols, steps, y_type=None, y=None):
            members = np.flatnonzero(self._fit_labels == y_type)
            self.parents_.append((members[rows], members[nn_num[rows, cols]]))
            return interpolated_pixels(X, nn_data, rows, nn_num[rows, cols], steps)

    return TracedSMOTE


def interpolated_pixels(
    X: np.ndarray, nn_data: np.ndarray, rows: np.ndarray, partners: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    """SMOTE's new rows `X[rows] + steps * (nn_data[partners] - X[rows])` as imbalanced-learn computes them on
    float32 features (float64 products, cast to float32), then rounded and clipped to uint8 pixels."""
    new = np.empty((len(rows), X.shape[1]), np.uint8)
    for first in range(0, len(rows), _BLOCK_ROWS):
        block = slice(first, first + _BLOCK_ROWS)
        base = X[rows[block]].astype(np.float32)
        point = base + steps[block] * (nn_data[partners[block]].astype(np.float32) - base)
        new[block] = as_images(point.astype(np.float32)).reshape(len(base), -1)
    return new


class Smote(Step):
    """SMOTE to the majority count.

    New minority rows on the segments between a row and one of its k nearest same-class rows.
    """

    name = "smote"
    kind = "over"
    Params = SmoteParams
    balances_to = "majority"

    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        strategy = imblearn_strategy(self.params.sampling_strategy)
        require_class_sizes(self.name, train.labels, strategy, self.params.k_neighbors, "k_neighbors")
        sampler = traced_smote()(
            sampling_strategy=strategy,
            k_neighbors=neighbor_search(self.neighbors, self.params.k_neighbors + 1),
            random_state=seed_of(rng),
        )
        pixels, labels = sampler.fit_resample(as_pixel_rows(train.images), train.labels)
        if not sampler.parents_:
            return train
        base, partner = (np.concatenate(p) for p in zip(*sampler.parents_, strict=True))
        made = pixels[len(train) :].reshape(-1, *train.images.shape[1:])
        new = derived(train, self.name, made, labels[len(train) :], [base, partner])
        return concat([train, new])
