"""Seed 001's mistake, kept for one purpose: measuring how much it inflates a reported score.

Resampling the whole dataset BEFORE splitting puts copies of test images, and interpolations between them,
into training. Only the `leakdemo` stage calls this module; `ferdata.build` refuses any training row that is
or descends from a validation or test image.
"""

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from ferdata.build import run_steps
from ferdata.splits import carve
from ferdata.store import ORIGIN_SEP, SPLITS, Split, concat
from ferdata.variants.base import Step, roots


def leaky_dataset(dataset: dict[str, Split], steps: list[Step], seed: int) -> dict[str, Split]:
    """All three splits pooled, resampled by `steps`, then split again, stratified and seeded, into
    train/val/test with the original splits' shares."""
    sizes = {name: len(dataset[name]) for name in SPLITS}
    pool, *_ = run_steps(concat([dataset[name] for name in SPLITS]), steps, seed)
    test = carve(pool.labels, sizes["test"] / sum(sizes.values()), seed, "test")
    rest = pool.take(~test)
    val = carve(rest.labels, sizes["val"] / (sizes["train"] + sizes["val"]), seed, "val")
    return {"train": rest.take(~val), "val": rest.take(val), "test": pool.take(test)}


def sharing_a_source(test: Split, train: Split) -> np.ndarray:
    """Which test rows are, copy, or were interpolated from a source image some training row also comes from."""
    train_sources = _sources(train)[1]
    test_rows, test_sources = _sources(test)
    return np.isin(np.arange(len(test)), test_rows[np.isin(test_sources, train_sources)])


def _sources(split: Split) -> tuple[np.ndarray, np.ndarray]:
    """(row, source id) pairs: a source row's own id, a derived row's parents."""
    parents = [row.split(ORIGIN_SEP) for row in roots(split, np.arange(len(split)))]
    rows = np.repeat(np.arange(len(split)), [len(p) for p in parents])
    return rows, np.array([p for row in parents for p in row], dtype=str)


def nearest_neighbour_correct(data: dict[str, Split]) -> np.ndarray:
    """Which test rows a 1-nearest-neighbour classifier on raw pixels gets right: a model that memorises its
    training set completely, so it shows the most a leak can inflate a score."""
    features = {name: data[name].images.reshape(len(data[name]), -1) for name in ("train", "test")}
    model = KNeighborsClassifier(n_neighbors=1).fit(features["train"], data["train"].labels)
    return model.predict(features["test"]) == data["test"].labels


def leak_report(
    variant: str, honest: dict, leaky: dict, honest_data: dict, leaky_data: dict, leaky_network_correct: np.ndarray
) -> dict:
    """The two runs side by side (the trainer's metrics files, and 1-NN on both datasets), and the leaky run's
    test split in two: the rows that share a source image with a training row, and the rest."""
    test = leaky_data["test"]
    shared = sharing_a_source(test, leaky_data["train"])
    nearest = {"honest": nearest_neighbour_correct(honest_data), "leaky": nearest_neighbour_correct(leaky_data)}
    return {
        "variant": variant,
        "honest": _summary(honest, nearest["honest"].mean(), "resampled the training split after splitting (ferdata)"),
        "leaky": _summary(leaky, nearest["leaky"].mean(), "resampled the whole dataset, then split (seed 001)"),
        "inflation_points": {
            "top1": round(100 * (leaky["test"]["top1"] - honest["test"]["top1"]), 2),
            "macro_f1": round(100 * (leaky["test"]["macro_f1"] - honest["test"]["macro_f1"]), 2),
            "nearest_neighbour_top1": round(100 * (nearest["leaky"].mean() - nearest["honest"].mean()), 2),
        },
        "leaky_test_rows": len(test),
        "leaky_test_rows_sharing_a_source_with_train": int(shared.sum()),
        "leaky_test_synthetic_rows": int((test.origin != "").sum()),
        "leaky_test_top1_by_rows": {
            name: {
                "rows": int(rows.sum()),
                "network": round(float(leaky_network_correct[rows].mean()), 4) if rows.any() else None,
                "nearest_neighbour": round(float(nearest["leaky"][rows].mean()), 4) if rows.any() else None,
            }
            for name, rows in (("sharing_a_source_with_train", shared), ("the_rest", ~shared))
        },
    }


def _summary(metrics: dict, nearest_top1: np.floating, how: str) -> dict:
    return {
        "how": how,
        "train_rows": metrics["train_rows"],
        "test_top1": metrics["test"]["top1"],
        "test_macro_f1": metrics["test"]["macro_f1"],
        "nearest_neighbour_test_top1": float(nearest_top1),
    }
