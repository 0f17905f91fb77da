"""The baseline step."""

import numpy as np

from ferdata.store import Split
from ferdata.variants.base import Step


class Unchanged(Step):
    """The training split as ingested."""

    name = "none"
    kind = "passthrough"

    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        return train
