"""Random undersampling (imbalanced-learn's RandomUnderSampler)."""

import numpy as np

from ferdata.store import Split
from ferdata.variants.base import SamplingParams, Step
from ferdata.variants.sampling import picked_rows


class RandomUndersample(Step):
    """Random undersampling to the minority count: majority rows dropped."""

    name = "rus"
    kind = "under"
    Params = SamplingParams
    balances_to = "minority"

    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        from imblearn.under_sampling import RandomUnderSampler

        return train.take(np.sort(picked_rows(RandomUnderSampler, self.params, train, rng)))
