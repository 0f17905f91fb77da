"""Tomek links (imbalanced-learn's TomekLinks), with ferdata's neighbour search."""

import numpy as np

from ferdata.store import Split
from ferdata.variants.base import SamplingStrategy, Step, StepParams, as_pixel_rows, imblearn_strategy
from ferdata.variants.sampling import class_changes, neighbor_search


class CleaningParams(StepParams):
    sampling_strategy: SamplingStrategy = "all"  # imblearn's SMOTETomek and SMOTEENN clean all classes


class Tomek(Step):
    """Remove Tomek links.

    Pairs of mutual nearest neighbours of different classes; their rows are removed. TomekLinks has no
    pluggable search, so the neighbours come from ferdata's search and go to its static `is_tomek`, exactly
    as TomekLinks does with its own.
    """

    name = "tomek"
    kind = "cleaning"
    Params = CleaningParams

    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        from imblearn.under_sampling import TomekLinks

        features = as_pixel_rows(train.images)
        nearest = neighbor_search(self.neighbors, 2).fit(features).kneighbors(features, return_distance=False)[:, 1]
        classes = class_changes(imblearn_strategy(self.params.sampling_strategy), train.labels, "clean-sampling")
        return train.take(~TomekLinks.is_tomek(train.labels, nearest, classes))
