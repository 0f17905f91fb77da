"""Balanced class weights for the trainer's loss, in place of resampling."""

import numpy as np

from ferdata.labels import NUM_CLASSES
from ferdata.store import Split
from ferdata.variants.base import Step


class ClassWeight(Step):
    """No resampling; balanced class weights for the loss.

    scikit-learn's "balanced" weights, n / (classes x count), recorded in the card for the trainer.
    """

    name = "class_weight"
    kind = "passthrough"

    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        from sklearn.utils.class_weight import compute_class_weight

        present = np.unique(train.labels)
        weights = compute_class_weight("balanced", classes=present, y=train.labels)
        self.class_weights_ = np.zeros(NUM_CLASSES)
        self.class_weights_[present] = weights
        return train

    def report(self) -> dict:
        return {"class_weights": [round(float(w), 6) for w in self.class_weights_]}
