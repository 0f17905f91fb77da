"""Leak-free splitting: official splits where a source has them, stratified seeded carving otherwise."""

import numpy as np

from ferdata.errors import FerdataError, first_line


def carve(labels: np.ndarray, fraction: float, seed: int, what: str, groups: np.ndarray | None = None) -> np.ndarray:
    """A boolean mask of the rows moved out: a stratified, seeded `fraction` of them; with `groups`, whole
    groups move (stratified as far as the groups allow)."""
    if groups is not None:
        return _carve_groups(labels, fraction, seed, what, groups)
    from sklearn.model_selection import train_test_split  # seconds to import; FER2013's official splits skip it

    counts = np.bincount(labels)
    too_small = [c for c, n in enumerate(counts) if 0 < n < 2]
    if too_small:
        raise FerdataError(f"cannot carve a stratified {what} split: class {too_small[0]} has a single image")
    try:
        _, moved = train_test_split(np.arange(len(labels)), test_size=fraction, stratify=labels, random_state=seed)
    except ValueError as exc:
        raise FerdataError(f"cannot carve a stratified {what} split of {len(labels)} rows: {first_line(exc)}") from None
    mask = np.zeros(len(labels), bool)
    mask[moved] = True
    return mask


def _carve_groups(labels: np.ndarray, fraction: float, seed: int, what: str, groups: np.ndarray) -> np.ndarray:
    from sklearn.model_selection import StratifiedGroupKFold

    folds = max(2, round(1 / fraction))
    if len(np.unique(groups)) < folds:
        raise FerdataError(f"cannot carve a {what} split by group: {len(np.unique(groups))} groups, need {folds}")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    try:
        _, moved = next(splitter.split(np.zeros(len(labels)), labels, groups))
    except ValueError as exc:
        raise FerdataError(
            f"cannot carve a stratified {what} split of {len(labels)} rows by group: {first_line(exc)}"
        ) from None
    mask = np.zeros(len(labels), bool)
    mask[moved] = True
    return mask
