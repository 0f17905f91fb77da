"""imbalanced-learn's SMOTETomek: SMOTE followed by Tomek-link cleaning of all classes."""

from ferdata.variants.base import Combined
from ferdata.variants.steps.smote import Smote
from ferdata.variants.steps.tomek import Tomek


class SmoteTomek(Combined):
    """SMOTE, then remove Tomek links."""

    name = "smotetomek"
    parts = (Smote, Tomek)
