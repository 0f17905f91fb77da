"""Duplicate and quality audit of a dataset: exact and near duplicates within and across splits,
duplicates with conflicting labels, blank and near-constant images.

Exact duplicates group rows by their raw pixel bytes. Near duplicates share a 64-bit difference hash
(dHash of an 8x9 area-downsampled image, robust to brightness, contrast and mild noise) and are confirmed
by a pixel correlation of at least `near_duplicate_correlation` with their bucket's first image.
"""

from itertools import combinations

import numpy as np

from ferdata.sections.audit import AuditParams
from ferdata.store import IMAGE_SIDE, Split


def pixel_groups(images: np.ndarray) -> np.ndarray:
    """A group id per image; two images share an id exactly when their pixels are identical."""
    flat = np.ascontiguousarray(images.reshape(len(images), -1))
    keys = flat.view(np.dtype((np.void, flat.shape[1]))).ravel()
    return np.unique(keys, return_inverse=True)[1].ravel()


def rows_also_in(images: np.ndarray, others: np.ndarray) -> np.ndarray:
    """A mask of the `images` whose exact pixels occur among `others`."""
    groups = pixel_groups(np.concatenate([images, others]))
    return np.isin(groups[: len(images)], groups[len(images) :])


def difference_hash(images: np.ndarray) -> np.ndarray:
    """64-bit dHash per image: is each of 8x9 area-averaged cells brighter than its left neighbour."""
    rows, cols = _area_matrix(IMAGE_SIDE, 8), _area_matrix(IMAGE_SIDE, 9)
    hashes = []
    for first in range(0, len(images), 4096):
        small = np.einsum("ij,njk,lk->nil", rows, images[first : first + 4096].astype(np.float32), cols)
        bits = np.packbits(small[:, :, 1:] > small[:, :, :-1], axis=-1)
        hashes.append(np.ascontiguousarray(bits.reshape(len(bits), 8)).view(np.uint64).ravel())
    return np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)


def _area_matrix(source: int, target: int) -> np.ndarray:
    """Weights that average `source` pixels into `target` cells of equal width (area resampling)."""
    edges = np.linspace(0, source, target + 1)
    pixel = np.arange(source)
    overlap = np.clip(np.minimum(edges[1:, None], pixel + 1) - np.maximum(edges[:-1, None], pixel), 0, None)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


def audit_dataset(splits: dict[str, Split], params: AuditParams) -> dict:
    """The audit report: a summary of counts and every group, named by ids."""
    names = list(splits)
    images = np.concatenate([splits[n].images for n in names])
    labels = np.concatenate([splits[n].labels for n in names])
    ids = np.concatenate([splits[n].ids for n in names])
    split_of = np.repeat(np.arange(len(names)), [len(splits[n]) for n in names])

    exact = pixel_groups(images)
    exact_groups = [_describe_group(m, names, split_of, labels, ids) for m in _members(exact)]

    std = images.reshape(len(images), -1).std(axis=1)
    blank = std == 0
    near_constant = ~blank & (std < params.near_constant_std)

    near = _near_duplicates(images, exact, ~blank & ~near_constant, params.near_duplicate_correlation)
    near_groups = [_describe_group(rows, names, split_of, labels, ids) for rows in near]

    train = names.index("train") if "train" in names else -1
    in_other = np.isin(exact, exact[split_of != train]) & (split_of == train)
    summary = {
        "rows": {n: len(splits[n]) for n in names},
        "exact_duplicate_groups": len(exact_groups),
        "exact_duplicate_rows": sum(len(g["ids"]) for g in exact_groups),
        "exact_cross_split_groups": sum(g["cross_split"] for g in exact_groups),
        "exact_groups_by_splits": _by_splits(exact_groups, names),
        "exact_conflicting_label_groups": sum(g["conflicting_labels"] for g in exact_groups),
        "train_rows_also_in_val_or_test": int(in_other.sum()),
        "near_duplicate_groups": len(near_groups),
        "near_cross_split_groups": sum(g["cross_split"] for g in near_groups),
        "near_groups_by_splits": _by_splits(near_groups, names),
        "blank_images": int(blank.sum()),
        "near_constant_images": int(near_constant.sum()),
    }
    return {
        "summary": summary,
        "params": params.model_dump(),
        "exact_groups": exact_groups,
        "near_groups": near_groups,
        "blank": ids[blank].tolist(),
        "near_constant": ids[near_constant].tolist(),
    }


def _near_duplicates(images: np.ndarray, exact: np.ndarray, informative: np.ndarray, threshold: float) -> list:
    """Rows of each near-duplicate group: one representative per exact group, informative images only, sharing
    a dHash and correlating with the bucket's first image at `threshold` or more."""
    first_of_group = np.zeros(len(images), bool)
    first_of_group[np.unique(exact, return_index=True)[1]] = True
    candidates = np.flatnonzero(first_of_group & informative)
    groups = []
    for bucket in _members(difference_hash(images[candidates])):
        rows = candidates[bucket]
        confirmed = rows[_correlation(images[rows], images[rows[0]]) >= threshold]
        if len(confirmed) > 1:
            groups.append(confirmed)
    return groups


def _members(keys: np.ndarray) -> list[np.ndarray]:
    """The row indices of each key that occurs more than once, in order of first row."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    groups = [order[s : s + k] for s, k in zip(starts, sizes, strict=True) if k > 1]
    return sorted(groups, key=lambda g: g[0])


def _correlation(images: np.ndarray, reference: np.ndarray) -> np.ndarray:
    flat = images.reshape(len(images), -1).astype(np.float32)
    ref = reference.ravel().astype(np.float32)
    flat -= flat.mean(axis=1, keepdims=True)
    ref -= ref.mean()
    denominator = np.linalg.norm(flat, axis=1) * np.linalg.norm(ref) + 1e-12
    return flat @ ref / denominator


def _describe_group(
    rows: np.ndarray, names: list[str], split_of: np.ndarray, labels: np.ndarray, ids: np.ndarray
) -> dict:
    splits = [names[s] for s in split_of[rows]]
    return {
        "ids": ids[rows].tolist(),
        "splits": splits,
        "labels": labels[rows].tolist(),
        "cross_split": len(set(splits)) > 1,
        "conflicting_labels": len(set(labels[rows].tolist())) > 1,
    }


def _by_splits(groups: list[dict], names: list[str]) -> dict[str, int]:
    """How many groups touch each split alone and each pair of splits (a group spanning three counts in every pair)."""
    counts = {name: 0 for name in names} | {f"{a}~{b}": 0 for a, b in combinations(names, 2)}
    for group in groups:
        present = sorted(set(group["splits"]), key=names.index)
        if len(present) == 1:
            counts[present[0]] += 1
        for a, b in combinations(present, 2):
            counts[f"{a}~{b}"] += 1
    return counts
