"""What every step shares: the one verb with its contract, the kinds, params, and provenance of new rows.

A step is one class in one module of `ferdata.variants.steps`: its `name` (as params.yaml writes it), its
`kind`, its pydantic `Params` and, for a combined step, its `parts`. The registry, params validation, the CLI's
help and the test battery all read these declarations; nothing else lists the steps.
"""

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ferdata.errors import FerdataError
from ferdata.labels import label_of_name
from ferdata.store import IMAGE_SIDE, ORIGIN_SEP, Split

# passthrough: rows unchanged; over: classes only grow; under: classes only shrink, rows picked at random;
# cleaning: rows removed by a data rule; augment: transformed copies added; merge: rows from elsewhere added;
# combined: its parts in order.
Kind = Literal["passthrough", "over", "under", "cleaning", "augment", "merge", "combined"]


class StepParams(BaseModel):
    """A step's params section (params.yaml: build.variants.<variant>.<step>); unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# imbalanced-learn's sampling strategies; classes are named (e.g. {disgust: 1000} or [happy, neutral]).
SamplingStrategy = (
    Literal["auto", "all", "minority", "majority", "not minority", "not majority"] | dict[str, int] | list[str]
)


class SamplingParams(StepParams):
    sampling_strategy: SamplingStrategy = "auto"


class NeighborParams(StepParams):
    """The k-NN search every neighbour-based step uses (params.yaml: build.neighbors)."""

    backend: Literal["auto", "sketch", "torch", "sklearn"] = Field(
        "auto", description="k-NN search behind SMOTE/Tomek/ENN: auto, sketch or torch (exact, same result), sklearn"
    )
    components: int = Field(63, ge=1, description="sketch: principal components (plus the residual's length)")
    candidates: int = Field(32, ge=1, description="sketch: rows scored exactly before the rest are ruled out")
    chunk_rows: int = Field(1024, ge=1, description="queries per chunk: bounds memory")
    device: str = Field("auto", description="torch device: auto, cpu, cuda, cuda:1 ...")
    kernel: Literal["auto", "int8", "float32"] = Field(
        "auto",
        description="torch brute force's CPU products of pixels: auto (int8 where exact and faster), int8, float32",
    )

    def deciding(self) -> dict:
        """What decides which neighbours are found, for the variant's card: scikit-learn's search breaks ties its
        own way; ferdata's exact searches agree with each other, and the other settings only set the speed."""
        return {"search": "sklearn" if self.backend == "sklearn" else "exact"}


class Step(ABC):
    """One resampling or augmentation step, in the spirit of imbalanced-learn's `fit_resample`.

    The first line of a step's docstring is its one-line help.
    """

    name: ClassVar[str]
    kind: ClassVar[Kind]
    Params: ClassVar[type[StepParams] | None] = None
    parts: ClassVar[tuple[type["Step"], ...]] = ()  # combined steps: run as these steps, in order
    # Under the default sampling strategy every class ends at the majority's count ("majority"), the
    # minority's ("minority"), or no promise is made (None).
    balances_to: ClassVar[Literal["majority", "minority"] | None] = None

    def __init__(self, params: StepParams | None = None, neighbors: NeighborParams | None = None) -> None:
        self.params = params if params is not None or self.Params is None else self.Params()
        self.neighbors = neighbors or NeighborParams()
        self.held_out: Split | None = None

    @classmethod
    def summary(cls) -> str:
        return (cls.__doc__ or cls.name).strip().splitlines()[0].rstrip(".")

    def fit_resample(self, train: Split, rng: np.random.Generator, held_out: Split | None = None) -> Split:
        """The new training split. Kept rows keep their ids and pixels; new rows name their parents in
        `origin`. `held_out` (val and test) is what no row may be or descend from."""
        self.held_out = held_out
        resampled = self._fit_resample(train, rng)
        problem = contract_problem(train, resampled, held_out, brings_rows=self.kind == "merge")
        if problem:
            raise FerdataError(f"step {self.name}: {problem}")
        return resampled

    @abstractmethod
    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split: ...

    def inputs(self) -> list[Path]:
        """Files or folders the step reads besides the training split (an output must not be among them)."""
        return []

    def report(self) -> dict:
        """Anything the card should record besides class counts (e.g. class weights)."""
        return {}


class Combined(Step):
    """A step that runs as its `parts`, in order; the registry expands it, so each part reports itself."""

    kind = "combined"

    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        raise TypeError(f"{self.name} runs as its parts: {', '.join(part.name for part in self.parts)}")


def contract_problem(before: Split, after: Split, held_out: Split | None, brings_rows: bool) -> str:
    """What a step's output breaks, or "": unique ids; kept rows unchanged; new rows derived from
    training rows (or, for a step that brings rows, from nowhere); nothing from val or test."""
    if len(np.unique(after.ids)) != len(after):
        return "row ids are not unique"
    order = np.argsort(before.ids)
    at = np.searchsorted(before.ids, after.ids, sorter=order).clip(max=max(len(before) - 1, 0))
    kept = before.ids[order[at]] == after.ids if len(before) else np.zeros(len(after), bool)
    source = order[at[kept]]
    for field in ("images", "labels", "origin"):
        if not np.array_equal(getattr(after, field)[kept], getattr(before, field)[source]):
            return f"a kept row's {field} changed"
    new = ~kept
    parents = _parent_ids(after.origin[new & (after.origin != "")])
    if not brings_rows and (after.origin[new] == "").any():
        return f"new row {after.ids[new & (after.origin == '')][0]} does not name its parents"
    if held_out is not None:
        leaked = np.concatenate([after.ids, parents])
        leaked = leaked[np.isin(leaked, held_out.ids)]
        if leaked.size:
            return f"training rows derive from held-out images, e.g. {leaked[0]}: refusing to write"
    known = np.unique(np.concatenate([before.ids, _parent_ids(before.origin[before.origin != ""])]))
    strangers = parents[~np.isin(parents, known)]
    if strangers.size:
        return f"a new row names {strangers[0]}, which is not a training row"
    return ""


def _parent_ids(origin: np.ndarray) -> np.ndarray:
    return np.array([p for o in origin for p in o.split(ORIGIN_SEP)], dtype=str)


def roots(split: Split, index: np.ndarray) -> np.ndarray:
    """The source ids a row descends from: its own id for a source row, its origin for a derived one."""
    return np.where(split.origin[index] == "", split.ids[index], split.origin[index])


def derived(split: Split, step: str, images: np.ndarray, labels: np.ndarray, parents: list[np.ndarray]) -> Split:
    """New rows made from the rows at `parents` (one index array per parent role), with ids `step:k`."""
    origin = roots(split, parents[0])
    for other in parents[1:]:
        origin = np.char.add(np.char.add(origin, ORIGIN_SEP), roots(split, other))
    ids = np.char.add(f"{step}:", np.arange(len(labels)).astype(str))
    return Split(images, labels.astype(np.int8), ids, origin.astype(str))


def as_features(images: np.ndarray) -> np.ndarray:
    """Images as the float32 (N, 2304) matrix imbalanced-learn works on."""
    return images.reshape(len(images), -1).astype(np.float32)


def as_pixel_rows(images: np.ndarray) -> np.ndarray:
    """Images as (N, 2304) uint8 rows: what the cleaning steps search (finding neighbours needs no floats)."""
    return images.reshape(len(images), -1)


def as_images(features: np.ndarray) -> np.ndarray:
    """Interpolated features back to uint8 images, rounded and clipped in place (`features` is consumed:
    no float temporaries the size of the new rows)."""
    np.rint(features, out=features)
    np.clip(features, 0, 255, out=features)
    return features.astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)


def imblearn_strategy(strategy: str | dict[str, int] | list[str]) -> str | dict[int, int] | list[int]:
    """A params-file strategy, with classes by name, as imbalanced-learn takes it (classes by label)."""
    if isinstance(strategy, dict):
        return {label_of_name(name): count for name, count in strategy.items()}
    if isinstance(strategy, list):
        return [label_of_name(name) for name in strategy]
    return strategy


def seed_of(rng: np.random.Generator) -> int:
    """An int seed for a library that takes one (imbalanced-learn's random_state, albumentations' seed)."""
    return int(rng.integers(2**31 - 1))
