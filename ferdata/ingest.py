"""Ingest: a source becomes train/val/test splits, split FIRST (official splits, else stratified and
seeded), optionally de-duplicated against val/test, written atomically with a dataset card."""

from pathlib import Path

import numpy as np

from ferdata.audit import rows_also_in
from ferdata.card import library_versions, write_json
from ferdata.errors import FerdataError
from ferdata.labels import CLASS_NAMES
from ferdata.outputs import atomic_dir, claim
from ferdata.sections.ingest import IngestParams
from ferdata.sources.base import SourceRows
from ferdata.sources.registry import read_source
from ferdata.splits import carve
from ferdata.store import SPLITS, Split, save_split

KIND = "dataset"


def ingest(path: Path, out: Path, params: IngestParams, seed: int, force: bool = False) -> dict:
    """Read `path`, split it and write `out/{train,val,test}.npz` and `out/card.json`; returns the card."""
    ferplus = Path(params.ferplus) if params.ferplus else None
    for source in (path, ferplus):
        if source is not None and not source.exists():
            raise FerdataError(f"{source}: no such file or directory")
    claim(out, KIND, [path, ferplus], force)
    dataset, rows = read_source(path, params)
    splits, role_sources = assign_splits(rows, params, seed)
    dedupe = None
    if params.dedupe:
        held_out = np.concatenate([splits["val"].images, splits["test"].images])
        leaked = rows_also_in(splits["train"].images, held_out)
        dedupe = {"removed_from_train": int(leaked.sum()), "removed_ids": splits["train"].ids[leaked].tolist()}
        splits["train"] = splits["train"].take(~leaked)
    card = {
        "dataset": dataset,
        "source": rows.source,
        "seed": seed,
        "params": params.model_dump(exclude={"ferplus"}),  # FER+ is recorded, with its hash, under "ferplus"
        "split_sources": role_sources,
        **rows.notes,
        "dedupe": dedupe,
        "class_names": list(CLASS_NAMES),
        "counts": {name: split.class_counts() for name, split in splits.items()},
        "versions": library_versions(),
    }
    with atomic_dir(out, KIND) as tmp:
        for name, split in splits.items():
            save_split(split, tmp / f"{name}.npz")
        write_json(tmp / "card.json", card)
    return card


def assign_splits(rows: SourceRows, params: IngestParams, seed: int) -> tuple[dict[str, Split], dict]:
    """Official roles where the source has them; test, then val, carved from train where it has none."""
    roles = rows.roles.copy()
    why = rows.role_sources.astype(object)
    if not (roles == "train").any():
        raise FerdataError(f"{rows.source['path']}: no training rows")
    for role, fraction in (("test", params.test_fraction), ("val", params.val_fraction)):
        if (roles == role).any():
            continue
        train = np.flatnonzero(roles == "train")
        groups = rows.groups[train] if rows.groups is not None else None
        try:
            moved = train[carve(rows.labels[train], fraction, seed, role, groups)]
        except FerdataError as exc:
            raise FerdataError(f"{rows.source['path']}: {exc}") from None
        roles[moved] = role
        by = " by photo" if groups is not None else ""
        why[moved] = f"stratified {fraction:g} of train{by}, seed {seed}"
    splits = {}
    sources = {}
    for name in SPLITS:
        mask = roles == name
        splits[name] = Split.from_source(rows.images[mask], rows.labels[mask], rows.ids[mask])
        values, counts = np.unique(why[mask].astype(str), return_counts=True)
        sources[name] = dict(zip(values.tolist(), counts.tolist(), strict=True))
    return splits, sources
