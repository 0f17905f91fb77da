"""The sources ingest reads, as a list, and which one a path is when none is named."""

from pathlib import Path

from ferdata.errors import FerdataError
from ferdata.sections.ingest import SOURCE_NAMES, IngestParams
from ferdata.sources.affectnet import AffectNet
from ferdata.sources.base import Source, SourceRows
from ferdata.sources.expw import ExpW
from ferdata.sources.fer2013 import Fer2013
from ferdata.sources.rafdb import RafDb

SOURCES: list[Source] = [Fer2013(), ExpW(), AffectNet(), RafDb()]
if tuple(source.name for source in SOURCES) != SOURCE_NAMES:  # the params file's choices name these classes
    raise TypeError(f"ferdata.sections.SOURCE_NAMES {SOURCE_NAMES} must list {[s.name for s in SOURCES]}")


def detect(path: Path) -> Source:
    """The one source `path` looks like; an error when it looks like none or several."""
    if not path.exists():
        raise FerdataError(f"{path}: no such file or directory")
    matches = [source for source in SOURCES if source.detect(path)]
    if len(matches) != 1:
        found = "none" if not matches else " and ".join(source.name for source in matches)
        raise FerdataError(
            f"{path}: cannot tell the source ({found} match); name it with --source ({', '.join(SOURCE_NAMES)})"
        )
    return matches[0]


def read_source(path: Path, params: IngestParams) -> tuple[str, SourceRows]:
    """(source name, rows) of `path`, read as params.format says (auto: detected)."""
    source = detect(path) if params.format == "auto" else SOURCES[SOURCE_NAMES.index(params.format)]
    if params.ferplus and source.name != "fer2013":
        raise FerdataError(f"{params.ferplus}: FER+ relabels FER2013, not {source.name}")
    if source.is_folder and not path.is_dir():
        raise FerdataError(f"{path}: a {source.name} dataset is a directory")
    return source.name, source.read(path, params)
