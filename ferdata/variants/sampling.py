"""What the imbalanced-learn steps share: ferdata's neighbour search in imblearn's place, class-size checks,
and the row picks of the random samplers.

imbalanced-learn and scikit-learn are imported by the functions that use them, so reading the step
declarations (params validation, `ferdata --help`) stays light.
"""

import numpy as np

from ferdata.errors import FerdataError
from ferdata.labels import CLASS_NAMES
from ferdata.store import Split
from ferdata.variants.base import NeighborParams, SamplingParams, imblearn_strategy, seed_of


def neighbor_search(params: NeighborParams, n_neighbors: int, queries_are_fitted_rows: bool = False):
    """A `ferdata.neighbors.Neighbors` estimator, which imbalanced-learn takes in place of its own search."""
    from ferdata.neighbors import Neighbors

    return Neighbors(n_neighbors=n_neighbors, queries_are_fitted_rows=queries_are_fitted_rows, **params.model_dump())


def class_changes(strategy, labels: np.ndarray, kind: str) -> dict[int, int]:
    """imbalanced-learn's reading of a sampling strategy: {label: rows to add (or keep, or clean)}."""
    from imblearn.utils import check_sampling_strategy

    return check_sampling_strategy(strategy, labels, kind)


def require_class_sizes(step: str, labels: np.ndarray, strategy, k: int, key: str) -> None:
    """Each class that gets new rows needs more than k rows of its own to interpolate between."""
    counts = np.bincount(labels, minlength=len(CLASS_NAMES))
    for label, n_new in class_changes(strategy, labels, "over-sampling").items():
        if n_new and counts[label] <= k:
            raise FerdataError(
                f"{step}: class {CLASS_NAMES[label]!r} has {counts[label]} training images, "
                f"{key}={k} needs at least {k + 1}; lower build.steps.{step}.{key}"
            )


def picked_rows(sampler_type: type, params: SamplingParams, train: Split, rng: np.random.Generator) -> np.ndarray:
    """The rows a random sampler keeps or repeats, in its order. It only picks rows, so it is given row
    numbers instead of 2304 pixels per row."""
    sampler = sampler_type(sampling_strategy=imblearn_strategy(params.sampling_strategy), random_state=seed_of(rng))
    sampler.fit_resample(np.arange(len(train))[:, None], train.labels)
    return sampler.sample_indices_
