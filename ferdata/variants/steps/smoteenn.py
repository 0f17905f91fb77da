"""imbalanced-learn's SMOTEENN: SMOTE followed by edited-nearest-neighbours cleaning of all classes."""

from ferdata.variants.base import Combined
from ferdata.variants.steps.enn import Enn
from ferdata.variants.steps.smote import Smote


class SmoteEnn(Combined):
    """SMOTE, then edited nearest neighbours."""

    name = "smoteenn"
    parts = (Smote, Enn)
