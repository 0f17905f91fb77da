"""What every step shares: the one verb, provenance of derived rows, and named sampling strategies."""

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from pydantic import BaseModel

from ferdata.labels import label_of_name
from ferdata.store import IMAGE_SIDE, ORIGIN_SEP, Split


class Step(ABC):
    """One resampling or augmentation step, in the spirit of imbalanced-learn's `fit_resample`."""

    name: ClassVar[str]
    cleaning: ClassVar[bool] = False  # removes rows by a data rule (warned about when it guts a class)
    params: BaseModel | None = None  # the step's params section, with the variant's overrides

    @abstractmethod
    def fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        """The new training split. Kept rows keep their ids; new rows get `origin` (see `derived`)."""

    def report(self) -> dict:
        """Anything the card should record besides class counts (e.g. class weights)."""
        return {}


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
