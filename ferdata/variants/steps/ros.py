"""Random oversampling (imbalanced-learn's RandomOverSampler)."""

import numpy as np

from ferdata.store import Split, concat
from ferdata.variants.base import SamplingParams, Step, derived
from ferdata.variants.sampling import picked_rows


class RandomOversample(Step):
    """Random oversampling to the majority count: minority rows repeated."""

    name = "ros"
    kind = "over"
    Params = SamplingParams
    balances_to = "majority"

    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        from imblearn.over_sampling import RandomOverSampler

        repeats = picked_rows(RandomOverSampler, self.params, train, rng)[len(train) :]
        return concat([train, derived(train, self.name, train.images[repeats], train.labels[repeats], [repeats])])
