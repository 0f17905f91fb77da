"""The step registry, derived from the step classes: every module of `ferdata.variants.steps` is imported and
each `Step` subclass it defines is registered under its `name`. The variant params model is derived from the
same classes, so a new step is one new module and nothing else changes."""

import importlib
import pkgutil
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from ferdata.errors import FerdataError
from ferdata.variants import steps as step_modules
from ferdata.variants.base import NeighborParams, Step


def discover_steps() -> dict[str, type[Step]]:
    """{name: class} of every step defined in a module of `ferdata.variants.steps`, in module order."""
    found: dict[str, type[Step]] = {}
    for module_info in pkgutil.iter_modules(step_modules.__path__):
        module = importlib.import_module(f"{step_modules.__name__}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Step) and value.__module__ == module.__name__:
                if value.name in found:
                    raise TypeError(f"two steps are named {value.name!r}: {found[value.name]} and {value}")
                found[value.name] = value
    return found


STEPS: dict[str, type[Step]] = discover_steps()


def units(step: type[Step]) -> tuple[type[Step], ...]:
    """The steps that run for `step`: its parts when it is combined, else itself."""
    return step.parts or (step,)


def sections(step_names: list[str]) -> list[str]:
    """The params sections a list of steps reads, in order (a combined step reads its parts')."""
    return [unit.name for name in step_names for unit in units(STEPS[name]) if unit.Params is not None]


class _VariantBase(BaseModel):
    """One variant: its ordered steps, and params for those steps (unset ones take the step's defaults).

    A variant carries its own step params, so DVC reruns only the variant whose params changed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _steps_known_and_params_used(self) -> "_VariantBase":
        unknown = [s for s in self.steps if s not in STEPS]
        if unknown:
            raise ValueError(f"unknown step {unknown[0]!r} (known: {', '.join(STEPS)})")
        if len(set(self.steps)) != len(self.steps):
            raise ValueError("list each step once")
        unused = (self.model_fields_set - {"steps"}) - set(sections(self.steps))
        if unused:
            raise ValueError(f"params for {sorted(unused)[0]!r}, which none of the steps {self.steps} uses")
        return self


def _step_fields() -> dict[str, Any]:
    return {name: (step.Params, step.Params()) for name, step in STEPS.items() if step.Params is not None}


VariantParams: type[_VariantBase] = create_model("VariantParams", __base__=_VariantBase, **_step_fields())


def one_step_variants() -> dict[str, _VariantBase]:
    """Every step that works on the training split alone (not merge, which needs a second dataset) as a
    variant of its own with default params: the variants when no params.yaml names any."""
    return {name: VariantParams(steps=[name]) for name, step in STEPS.items() if step.kind != "merge"}


def variant_steps(spec: _VariantBase, neighbors: NeighborParams) -> list[Step]:
    """The steps of a variant, combined steps expanded into their parts, each with the variant's params."""
    return [
        unit(getattr(spec, unit.name) if unit.Params else None, neighbors)
        for name in spec.steps
        for unit in units(STEPS[name])
    ]


def steps_of(variant: str, variants: dict[str, _VariantBase], neighbors: NeighborParams) -> list[Step]:
    """The steps of the variant named `variant`; an error naming the known variants when there is none."""
    if variant not in variants:
        raise FerdataError(f"unknown variant {variant!r} (known: {', '.join(variants)})")
    return variant_steps(variants[variant], neighbors)
