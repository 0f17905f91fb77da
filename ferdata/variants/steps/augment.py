"""Offline augmentation with albumentations: one seeded `A.Compose` of the seeds' transforms.

albumentations transforms one image per call, so this step loops over the images it makes; 48x48 images
keep that loop fast (see benchmarks/resample.py for images/s).
"""

from typing import Literal

import numpy as np
from pydantic import Field

from ferdata.store import Split, concat
from ferdata.variants.base import Step, StepParams, derived, seed_of


class AugmentParams(StepParams):
    mode: Literal["balance", "multiply"] = Field("balance", description="grow classes to the majority, or x multiplier")
    multiplier: float = Field(2.0, ge=1.0, description="multiply: each class ends at count x multiplier")
    hflip: float = Field(0.5, ge=0, le=1, description="probability of a horizontal flip")
    affine: float = Field(0.7, ge=0, le=1, description="probability of rotation/shift/zoom")
    rotate: float = Field(10.0, ge=0, le=180, description="degrees, +-")
    shift: float = Field(0.1, ge=0, le=0.5, description="fraction of the side, +-")
    zoom: float = Field(0.1, ge=0, lt=1, description="scale 1 +- zoom")
    color: float = Field(0.5, ge=0, le=1, description="probability of a brightness/contrast change")
    brightness: float = Field(0.2, ge=0, le=1)
    contrast: float = Field(0.2, ge=0, le=1)
    noise: float = Field(0.3, ge=0, le=1, description="probability of Gaussian noise")
    noise_std: tuple[float, float] = Field((0.02, 0.06), description="noise std range, fraction of 255")
    erase: float = Field(0.3, ge=0, le=1, description="probability of random erasing (one hole)")
    erase_size: tuple[float, float] = Field((0.1, 0.3), description="hole side range, fraction of the side")


def compose(params: AugmentParams, seed: int):
    """Flip, rotation + shift + zoom, brightness/contrast, Gaussian noise and random erasing, seeded."""
    import albumentations as A
    import cv2

    return A.Compose(
        [
            A.HorizontalFlip(p=params.hflip),
            A.Affine(
                rotate=(-params.rotate, params.rotate),
                translate_percent=(-params.shift, params.shift),
                scale=(1 - params.zoom, 1 + params.zoom),
                border_mode=cv2.BORDER_REFLECT_101,
                p=params.affine,
            ),
            A.RandomBrightnessContrast(
                brightness_limit=params.brightness, contrast_limit=params.contrast, p=params.color
            ),
            A.GaussNoise(std_range=params.noise_std, p=params.noise),
            A.CoarseDropout(
                num_holes_range=(1, 1),
                hole_height_range=params.erase_size,
                hole_width_range=params.erase_size,
                fill=0,
                p=params.erase,
            ),
        ],
        seed=seed,
        is_check_shapes=False,  # one image per call: no other target's shape to compare (12% of the time)
    )


class Augment(Step):
    """Albumentations copies.

    New rows that are augmented copies of training rows: every class grown to the majority's count
    (`mode: balance`) or multiplied (`mode: multiply`). Each source row is used as evenly as possible.
    """

    name = "augment"
    kind = "augment"
    Params = AugmentParams
    balances_to = "majority"

    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        counts = np.bincount(train.labels, minlength=7)
        if self.params.mode == "balance":
            wanted = np.where(counts > 0, counts.max() - counts, 0)
        else:
            wanted = np.rint(counts * (self.params.multiplier - 1)).astype(int)
        parents = []
        for label in np.flatnonzero(wanted):
            members = rng.permutation(np.flatnonzero(train.labels == label))
            parents.append(members[np.arange(wanted[label]) % len(members)])
        if not parents:
            return train
        parents = np.concatenate(parents)
        transform = compose(self.params, seed_of(rng))
        images = np.stack([transform(image=image)["image"] for image in train.images[parents]])
        return concat([train, derived(train, self.name, images, train.labels[parents], [parents])])
