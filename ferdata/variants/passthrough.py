"""Steps that keep the training split as it is."""

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from ferdata.labels import NUM_CLASSES
from ferdata.store import Split
from ferdata.variants.base import Step


class Unchanged(Step):
    """The baseline: the training split as ingested."""

    name = "none"

    def fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        return train


class ClassWeight(Step):
    """No resampling: scikit-learn's "balanced" class weights, n / (classes x count), for the trainer's loss."""

    name = "class_weight"

    def fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        present = np.unique(train.labels)
        weights = compute_class_weight("balanced", classes=present, y=train.labels)
        self.class_weights_ = np.zeros(NUM_CLASSES)
        self.class_weights_[present] = weights
        return train

    def report(self) -> dict:
        return {"class_weights": [round(float(w), 6) for w in self.class_weights_]}
