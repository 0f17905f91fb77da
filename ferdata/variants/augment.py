"""Offline augmentation with albumentations: one seeded `A.Compose` of the seeds' transforms.

albumentations transforms one image per call, so this step loops over the images it makes; 48x48 images
keep that loop fast (see benchmarks/resample.py for images/s).
"""

import albumentations as A
import cv2
import numpy as np

from ferdata.params import AugmentParams
from ferdata.store import Split, concat
from ferdata.variants.base import Step, derived, seed_of


def compose(params: AugmentParams, seed: int) -> A.Compose:
    """Flip, rotation + shift + zoom, brightness/contrast, Gaussian noise and random erasing, seeded."""
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
    )


class Augment(Step):
    """New rows that are augmented copies of training rows: every class grown to the majority's count
    (`mode: balance`) or multiplied (`mode: multiply`). Each source row is used as evenly as possible."""

    name = "augment"

    def __init__(self, params: AugmentParams) -> None:
        self.params = params

    def fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
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
