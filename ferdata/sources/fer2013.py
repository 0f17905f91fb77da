"""FER2013 from any of its shipped forms (CSV variants or Kaggle folders), optionally relabelled by FER+,
as rows with stable ids and the split role each row's source gives it."""

from pathlib import Path

import numpy as np

from ferdata.card import file_sha256, files_sha256
from ferdata.errors import FerdataError
from ferdata.sections.ingest import IngestParams
from ferdata.sources.base import Source, SourceRows
from ferdata.sources.fer2013_csv import read_fer2013_csv
from ferdata.sources.fer2013_folders import is_folder_layout, read_fer2013_folders
from ferdata.sources.ferplus import read_ferplus


def usage_roles(swap_test_roles: bool) -> dict[str, str]:
    """usef-kh/fer's convention: validate on PrivateTest, report PublicTest; or the other way round."""
    val, test = ("PublicTest", "PrivateTest") if swap_test_roles else ("PrivateTest", "PublicTest")
    return {"Training": "train", val: "val", test: "test"}


class Fer2013(Source):
    """FER2013 as a CSV (plain, .gz or .zip; Usage column optional) or as Kaggle's train/test folders; with
    `params.ferplus`, relabelled by FER+'s majority vote."""

    name = "fer2013"
    is_folder = False

    def detect(self, path: Path) -> bool:
        return path.is_file() or is_folder_layout(path)

    def read(self, path: Path, params: IngestParams) -> SourceRows:
        ferplus = Path(params.ferplus) if params.ferplus else None
        return _read(path, params.swap_test_roles, params.skip_bad, ferplus)


def _read(path: Path, swap_test_roles: bool, skip_bad: bool, ferplus: Path | None) -> SourceRows:
    if is_folder_layout(path):
        if ferplus is not None:
            raise FerdataError(f"{path}: --ferplus relabels a FER2013 CSV (rows join by position), not folders")
        return _from_folders(path, usage_roles(swap_test_roles), skip_bad)
    if path.is_dir():
        raise FerdataError(f"{path}: a folder without train/ or test/ split folders is not a FER2013 layout")
    return _from_csv(path, usage_roles(swap_test_roles), skip_bad, ferplus)


def _from_csv(path: Path, roles: dict[str, str], skip_bad: bool, ferplus: Path | None) -> SourceRows:
    csv = read_fer2013_csv(path, skip_bad=skip_bad)
    usage = csv.usage if csv.usage is not None else np.full(len(csv.labels), "Training")
    labels, images, rows, notes = csv.labels, csv.images, csv.rows, {"skipped": csv.skipped}
    if ferplus is not None:
        relabelled, keep, notes["ferplus"] = _relabel(ferplus, path, csv.total_rows, rows, labels, csv.usage)
        labels, images, rows, usage = relabelled[keep], images[keep], rows[keep], usage[keep]
    return SourceRows(
        images=images,
        labels=labels,
        ids=np.char.add(np.char.add(np.char.add("fer2013:", usage), ":"), rows.astype(str)),
        roles=np.array([roles[u] for u in usage], dtype=str) if len(usage) else np.zeros(0, str),
        role_sources=np.char.add("Usage=", usage) if csv.usage is not None else np.full(len(usage), "no Usage column"),
        source={"format": "fer2013-csv", "path": str(path), "sha256": file_sha256(path), "rows": csv.total_rows},
        notes=notes,
    )


def _relabel(
    ferplus: Path, path: Path, total_rows: int, rows: np.ndarray, labels: np.ndarray, usage: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, dict]:
    """FER+ majority labels for the FER2013 rows kept, which rows survive, and what moved."""
    plus = read_ferplus(ferplus)
    if len(plus.labels) != total_rows:
        raise FerdataError(
            f"{ferplus}: {len(plus.labels)} rows but {path} has {total_rows}; FER+ joins FER2013 by row position"
        )
    if usage is not None:
        differ = np.flatnonzero(plus.usage[rows] != usage)
        if differ.size:
            row = rows[differ[0]]
            raise FerdataError(
                f"{ferplus}: row {row + 1} has Usage {plus.usage[row]!r} "
                f"but {path} row {row + 1} has {usage[differ[0]]!r}"
            )
    new = plus.labels[rows]
    keep = new >= 0
    stats = {
        "file": str(ferplus),
        "sha256": file_sha256(ferplus),
        "kept": int(keep.sum()),
        "relabelled": int((keep & (new != labels)).sum()),
        "dropped": int((~keep).sum()),
        "dropped_in_file_by_reason": plus.dropped,
    }
    return new.astype(np.int8), keep, stats


def _from_folders(root: Path, roles: dict[str, str], skip_bad: bool) -> SourceRows:
    found = read_fer2013_folders(root, skip_bad=skip_bad)
    named = found.usage != ""
    role = np.where(named, [roles.get(u, "") for u in found.usage], found.folder_roles)
    split_folder = np.array([p.split("/", 1)[0] for p in found.paths], dtype=str)
    why = np.where(
        named, np.char.add("file name ", np.char.add(found.usage, "_*")), np.char.add("folder ", split_folder)
    )
    return SourceRows(
        images=found.images,
        labels=found.labels,
        ids=np.char.add("fer2013:", found.paths),
        roles=role.astype(str),
        role_sources=why.astype(str),
        source={
            "format": "fer2013-folders",
            "path": str(root),
            "sha256": files_sha256(root, found.paths.tolist()),
            "rows": len(found.labels) + sum(found.skipped.values()),
        },
        notes={"skipped": found.skipped},
    )
