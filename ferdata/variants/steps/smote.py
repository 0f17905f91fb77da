"""SMOTE (imbalanced-learn's), with ferdata's neighbour search and both parents of every new row recorded."""

from functools import cache

import numpy as np
from pydantic import Field

from ferdata.store import Split, concat
from ferdata.variants.base import SamplingParams, Step, as_features, as_images, derived, imblearn_strategy, seed_of
from ferdata.variants.sampling import neighbor_search, require_class_sizes


class SmoteParams(SamplingParams):
    k_neighbors: int = Field(5, ge=1)


@cache
def traced_smote() -> type:
    """imbalanced-learn's SMOTE, recording both parents of every synthetic row as it makes them.

    Hooks `_generate_samples`, which SMOTE calls once per class with the base rows and neighbour columns
    it drew; the test battery checks every synthetic row lies between the parents recorded here.
    """
    from imblearn.over_sampling import SMOTE

    class TracedSMOTE(SMOTE):
        def _fit_resample(self, X, y):
            self._fit_labels, self.parents_ = y, []
            return super()._fit_resample(X, y)

        def _generate_samples(self, X, nn_data, nn_num, rows, cols, steps, y_type=None, y=None):
            members = np.flatnonzero(self._fit_labels == y_type)
            self.parents_.append((members[rows], members[nn_num[rows, cols]]))
            return super()._generate_samples(X, nn_data, nn_num, rows, cols, steps, y_type, y)

    return TracedSMOTE


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
        features, labels = sampler.fit_resample(as_features(train.images), train.labels)
        if not sampler.parents_:
            return train
        base, partner = (np.concatenate(p) for p in zip(*sampler.parents_, strict=True))
        new = derived(train, self.name, as_images(features[len(train) :]), labels[len(train) :], [base, partner])
        return concat([train, new])
