"""The step registry: names as they appear in params.yaml, and the two composite names imblearn has."""

from collections.abc import Callable

from ferdata.errors import FerdataError
from ferdata.params import BuildParams, NeighborParams, VariantParams
from ferdata.variants.augment import Augment
from ferdata.variants.base import Step
from ferdata.variants.merge import Merge
from ferdata.variants.passthrough import ClassWeight, Unchanged
from ferdata.variants.resample import Adasyn, Enn, RandomOversample, RandomUndersample, Smote, Tomek

STEPS: dict[str, Callable[[VariantParams, NeighborParams], list[Step]]] = {
    "none": lambda v, n: [Unchanged()],
    "class_weight": lambda v, n: [ClassWeight()],
    "ros": lambda v, n: [RandomOversample(v.ros)],
    "rus": lambda v, n: [RandomUndersample(v.rus)],
    "smote": lambda v, n: [Smote(v.smote, n)],
    "adasyn": lambda v, n: [Adasyn(v.adasyn, n)],
    "tomek": lambda v, n: [Tomek(v.tomek, n)],
    "enn": lambda v, n: [Enn(v.enn, n)],
    # imblearn's SMOTETomek and SMOTEENN are SMOTE followed by a cleaning of all classes.
    "smotetomek": lambda v, n: [Smote(v.smote, n), Tomek(v.tomek, n)],
    "smoteenn": lambda v, n: [Smote(v.smote, n), Enn(v.enn, n)],
    "augment": lambda v, n: [Augment(v.augment)],
    "merge": lambda v, n: [Merge(v.merge)],
}


def variant_steps(variant: str, params: BuildParams) -> list[Step]:
    """The steps of a variant, composites expanded, in order, each with the variant's params."""
    if variant not in params.variants:
        raise FerdataError(f"unknown variant {variant!r} (known: {', '.join(params.variants)})")
    spec = params.variants[variant]
    return [step for name in spec.steps for step in STEPS[name](spec, params.neighbors)]
