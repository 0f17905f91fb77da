"""What every step promises, checked from the outside (imbalanced-learn's `check_estimator`, for ferdata steps).

`check_step` runs a step on a training split and asserts what its `kind` promises, from the counts and rows
before and after, never from the step's own report: the test suite runs it over every registered step, and a
user can run it over their own. `check_variant` checks a built variant's folder against the dataset it was
built from. Both raise AssertionError naming the broken promise.
"""

import json
from pathlib import Path

import numpy as np

from ferdata.labels import CLASS_NAMES
from ferdata.store import Split, concat, load_dataset
from ferdata.variants.base import NeighborParams, Step, contract_problem
from ferdata.variants.registry import units


def check_step(step_type: type[Step], train: Split, held_out: Split, params=None) -> Split:
    """Run `step_type` (with `params`, else its defaults) on `train` and check it; returns its output."""
    before = _copy(train)
    out = _run(step_type, train, held_out, params, seed=7)
    _assert_same(train, before, "the step changed its input arrays in place")
    _assert_same(_run(step_type, train, held_out, params, seed=7), out, "two runs with one seed differ")
    check_rows(train, out, held_out, allow_strangers=any(u.kind == "merge" for u in units(step_type)))
    kinds = {unit.kind for unit in units(step_type)}
    check_counts(kinds, np.bincount(train.labels, minlength=7), np.bincount(out.labels, minlength=7), out, train)
    return out


def check_balance(step_type: type[Step], before: Split, after: Split) -> None:
    """Under default params, a step that balances ends with every class at the majority's or minority's count."""
    target = {"majority": np.bincount(before.labels).max(), "minority": np.bincount(before.labels).min()}
    if step_type.balances_to:
        counts = np.bincount(after.labels, minlength=7)
        assert (counts == target[step_type.balances_to]).all(), f"not balanced to the {step_type.balances_to}: {counts}"


def check_named_classes_untouched(step_type: type[Step], train: Split, held_out: Split) -> None:
    """A sampling strategy that names classes leaves every other class's rows exactly as they were."""
    counts = np.bincount(train.labels, minlength=7)
    if step_type.kind in ("over", "augment"):
        named = {CLASS_NAMES[int(counts.argmin())]: int(counts.max())}
    elif step_type.kind == "under":
        named = {CLASS_NAMES[int(counts.argmax())]: int(counts.min())}
    else:
        named = [CLASS_NAMES[int(counts.argmax())]]
    out = _run(step_type, train, held_out, step_type.Params(sampling_strategy=named), seed=3)
    others = ~np.isin(np.arange(7), [CLASS_NAMES.index(name) for name in named])
    for label in np.flatnonzero(others):
        kept = np.sort(out.ids[out.labels == label])
        assert np.array_equal(kept, np.sort(train.ids[train.labels == label])), f"{CLASS_NAMES[label]} changed"


def check_rows(before: Split, after: Split, held_out: Split, allow_strangers: bool = False) -> None:
    """Kept rows are the input's rows unchanged; new rows descend from training rows only (or, for a step that
    brings rows, come with no origin); nothing is or descends from a held-out row; ids are unique. The contract
    `Step.fit_resample` enforces, here applied to any before/after pair (a whole variant, too)."""
    problem = contract_problem(before, after, held_out, brings_rows=allow_strangers)
    assert not problem, problem


def check_counts(kinds: set[str], before: np.ndarray, after: np.ndarray, out: Split, train: Split) -> None:
    """The class counts and rows each kind allows."""
    new_rows = ~np.isin(out.ids, train.ids)
    lost_rows = ~np.isin(train.ids, out.ids)
    if kinds == {"passthrough"}:
        _assert_same(out, train, "a passthrough step changed the split")
    if kinds <= {"over", "augment", "merge"}:
        assert (after >= before).all(), f"a class shrank: {before} -> {after}"
        assert not lost_rows.any(), "a step that only adds rows removed some"
    if kinds <= {"under", "cleaning"}:
        assert (after <= before).all(), f"a class grew: {before} -> {after}"
        assert not new_rows.any(), "a step that only removes rows added some"


def check_variant(variant_dir: Path, source_dir: Path) -> None:
    """A built variant: val and test are the source's files byte for byte, its rows keep the step contract
    against the source's training split, and its card's counts describe its files."""
    for name in ("val", "test"):
        same = (variant_dir / f"{name}.npz").read_bytes() == (source_dir / f"{name}.npz").read_bytes()
        assert same, f"{name}.npz differs from the source's"
    source, built = load_dataset(source_dir), load_dataset(variant_dir)
    card = json.loads((variant_dir / "card.json").read_text())
    check_rows(source["train"], built["train"], concat([source["val"], source["test"]]), allow_strangers=True)
    assert card["counts_before"] == np.bincount(source["train"].labels, minlength=7).tolist()
    assert card["counts_after"] == np.bincount(built["train"].labels, minlength=7).tolist()


def _run(step_type: type[Step], train: Split, held_out: Split, params, seed: int) -> Split:
    from ferdata.build import run_steps

    steps = [unit(_part_params(unit, params), NeighborParams()) for unit in units(step_type)]
    return run_steps(train, steps, seed, held_out)[0]


def _part_params(unit: type[Step], params):
    """`params` for the part they are the params of (a combined step's parts take their defaults)."""
    return params if params is not None and unit.Params is not None and isinstance(params, unit.Params) else None


def _copy(split: Split) -> Split:
    return Split(split.images.copy(), split.labels.copy(), split.ids.copy(), split.origin.copy())


def _assert_same(a: Split, b: Split, message: str) -> None:
    for field in ("images", "labels", "ids", "origin"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), f"{message} ({field})"
