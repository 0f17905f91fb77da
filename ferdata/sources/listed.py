"""Sources that list their images in a label file (ExpW, AffectNet, RAF-DB): each entry resolved safely under
the dataset root, the images decoded on all cores, and the result as `SourceRows`."""

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ferdata.card import files_sha256
from ferdata.errors import FerdataError
from ferdata.sources.base import SourceRows
from ferdata.sources.images import Box, decode_or_fail


@dataclass(frozen=True)
class Entry:
    """One labelled face of a label file."""

    relative: str  # image path relative to the images' root, as the label file gives it
    label: int  # FER2013 order
    role: str  # train / val / test; "train" where the source has no split (val and test are carved at ingest)
    group: str  # faces of one group (a photo) never land in two splits
    box: Box | None  # face box to crop, or None for an already cropped face
    where: str  # "FILE line N", for errors


def inside(root: Path, relative: str, where: str) -> Path:
    """root/relative; refused when it leaves root through '..', an absolute path or a symlink pointing out."""
    parts = PurePosixPath(relative.replace("\\", "/"))
    if parts.is_absolute() or Path(relative).is_absolute() or ".." in parts.parts:
        raise FerdataError(f"{where}: {relative!r} points outside the dataset root {root}")
    path = root / parts
    if not path.resolve().is_relative_to(root.resolve()):
        raise FerdataError(f"{where}: {relative!r} is a link to outside the dataset root {root}")
    return path


def rows_from_entries(
    dataset: str, fmt: str, root: Path, images: Path, entries: list[Entry], skip_bad: bool, notes: dict, official: bool
) -> SourceRows:
    """Decode every entry's image (under `images`), crop its box, and return the rows; a bad image stops
    with its file and label line, or is skipped and counted with `skip_bad`."""
    paths = [inside(images, entry.relative, entry.where) for entry in entries]
    boxes = [entry.box for entry in entries]
    decoded, good = decode_or_fail(paths, boxes, skip_bad, lambda i: f"{paths[i]} ({entries[i].where})")
    kept = [entry for entry, ok in zip(entries, good, strict=True) if ok]
    skipped = dict(notes.get("skipped", {}))
    if not good.all():
        skipped["unreadable_image"] = int((~good).sum())
    relative = [entry.relative for entry in kept]
    groups = np.array([entry.group for entry in kept], dtype=str)
    return SourceRows(
        images=decoded[good],
        labels=np.array([entry.label for entry in kept], dtype=np.int8),
        ids=np.array([f"{dataset}:{entry.relative}" + (f"#{entry.box}" if entry.box else "") for entry in kept], str),
        roles=np.array([entry.role for entry in kept], dtype=str),
        role_sources=np.array([f"{dataset} {entry.role}" if official else "no official split" for entry in kept], str),
        source={
            "format": fmt,
            "path": str(root),
            "sha256": files_sha256(images, sorted(set(relative))),
            "rows": len(entries) + sum(notes.get("skipped", {}).values()),
        },
        notes={**notes, "skipped": skipped},
        groups=groups if len(np.unique(groups)) < len(groups) else None,  # only when some group has several rows
    )


def read_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of the non-blank lines of a label file."""
    if not path.is_file():
        raise FerdataError(f"{path}: no such label file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FerdataError(f"{path}: not a text label file ({exc.reason})") from None
    return [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]


class BadLines:
    """Collects malformed label lines: the first one is an error, unless they are skipped and counted."""

    def __init__(self, skip_bad: bool) -> None:
        self.skip_bad, self.counts = skip_bad, {}

    def bad(self, where: str, reason: str, kind: str) -> None:
        if not self.skip_bad:
            raise FerdataError(f"{where}: {reason}")
        self.counts[kind] = self.counts.get(kind, 0) + 1
