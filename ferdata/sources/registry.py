"""The sources ingest reads, by name, and which one a path is when none is named."""

from collections.abc import Callable
from pathlib import Path

from ferdata.errors import FerdataError
from ferdata.params import IngestParams
from ferdata.sources.affectnet import affectnet_layout, read_affectnet
from ferdata.sources.expw import is_expw, read_expw
from ferdata.sources.fer2013 import SourceRows, read_fer2013
from ferdata.sources.fer2013_folders import is_folder_layout
from ferdata.sources.rafdb import is_rafdb, read_rafdb


def _is_fer2013(path: Path) -> bool:
    return path.is_file() or is_folder_layout(path)


DETECT: dict[str, Callable[[Path], bool]] = {
    "fer2013": _is_fer2013,
    "expw": is_expw,
    "affectnet": lambda path: affectnet_layout(path) is not None,
    "rafdb": is_rafdb,
}


def detect(path: Path) -> str:
    """The one source `path` looks like; an error when it looks like none or several."""
    if not path.exists():
        raise FerdataError(f"{path}: no such file or directory")
    matches = [name for name, looks_like in DETECT.items() if looks_like(path)]
    if len(matches) != 1:
        found = "none" if not matches else " and ".join(matches)
        raise FerdataError(
            f"{path}: cannot tell the source ({found} match); name it with --source ({', '.join(DETECT)})"
        )
    return matches[0]


def read_source(path: Path, params: IngestParams, ferplus: Path | None = None) -> tuple[str, SourceRows]:
    """(source name, rows) of `path`, read as params.format says (auto: detected)."""
    name = detect(path) if params.format == "auto" else params.format
    if ferplus is not None and name != "fer2013":
        raise FerdataError(f"{ferplus}: FER+ relabels FER2013, not {name}")
    if name == "fer2013":
        return name, read_fer2013(path, params.swap_test_roles, params.skip_bad, ferplus)
    if not path.is_dir():
        raise FerdataError(f"{path}: a {name} dataset is a directory")
    if name == "expw":
        return name, read_expw(path, params.skip_bad, params.min_face_confidence)
    if name == "affectnet":
        return name, read_affectnet(path, params.skip_bad)
    return name, read_rafdb(path, params.skip_bad)
