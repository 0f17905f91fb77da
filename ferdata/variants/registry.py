"""The step registry: names as they appear in params.yaml, and the two composite names imblearn has."""

from collections.abc import Callable

from pydantic import ValidationError

from ferdata.errors import FerdataError
from ferdata.params import BuildParams, describe, step_name
from ferdata.variants.augment import Augment
from ferdata.variants.base import Step
from ferdata.variants.passthrough import ClassWeight, Unchanged
from ferdata.variants.resample import Adasyn, Enn, RandomOversample, RandomUndersample, Smote, Tomek

STEPS: dict[str, Callable[[BuildParams], list[Step]]] = {
    "none": lambda p: [Unchanged()],
    "class_weight": lambda p: [ClassWeight()],
    "ros": lambda p: [RandomOversample(p.steps.ros)],
    "rus": lambda p: [RandomUndersample(p.steps.rus)],
    "smote": lambda p: [Smote(p.steps.smote, p.neighbors)],
    "adasyn": lambda p: [Adasyn(p.steps.adasyn, p.neighbors)],
    "tomek": lambda p: [Tomek(p.steps.tomek, p.neighbors)],
    "enn": lambda p: [Enn(p.steps.enn, p.neighbors)],
    # imblearn's SMOTETomek and SMOTEENN are SMOTE followed by a cleaning of all classes.
    "smotetomek": lambda p: [Smote(p.steps.smote, p.neighbors), Tomek(p.steps.tomek, p.neighbors)],
    "smoteenn": lambda p: [Smote(p.steps.smote, p.neighbors), Enn(p.steps.enn, p.neighbors)],
    "augment": lambda p: [Augment(p.steps.augment)],
}


def variant_steps(variant: str, params: BuildParams) -> list[Step]:
    """The steps of a variant, composites expanded, in order, each with its (overridden) params."""
    if variant not in params.variants:
        raise FerdataError(f"unknown variant {variant!r} (known: {', '.join(params.variants)})")
    steps = []
    for spec in params.variants[variant]:
        name = step_name(spec)
        overrides = spec[name] if isinstance(spec, dict) else {}
        try:
            steps.extend(STEPS[name](params.step_params(name, overrides)))
        except ValidationError as exc:
            raise FerdataError(f"variant {variant!r}, step {name!r}: {describe(exc)}") from None
        except ValueError as exc:
            raise FerdataError(f"variant {variant!r}, step {name!r}: {exc}") from None
    return steps
