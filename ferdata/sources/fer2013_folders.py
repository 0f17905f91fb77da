"""FER2013 as the Kaggle folder layout: `train/ test/ [validation/]` x class-name folders of images.

Labels come from the class folder's NAME mapped to FER2013's order (never from an alphabetical index).
A file named `Training_*`, `PublicTest_*` or `PrivateTest_*` keeps its original FER2013 usage; any other
file takes the role of the split folder it sits in.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferdata.errors import FerdataError
from ferdata.labels import label_of_name
from ferdata.sources.images import decode_or_fail

SPLIT_FOLDERS: dict[str, str] = {
    "train": "train",
    "training": "train",
    "validation": "val",
    "valid": "val",
    "val": "val",
    "test": "test",
    "testing": "test",
}
_USAGE_PREFIX = re.compile(r"^(Training|PublicTest|PrivateTest)_")


@dataclass(frozen=True)
class FolderRows:
    """The readable images of a folder layout, sorted by relative path, with where each came from."""

    images: np.ndarray  # uint8 (N, 48, 48)
    labels: np.ndarray  # int8 (N,)
    folder_roles: np.ndarray  # str (N,) train/val/test, from the split folder
    usage: np.ndarray  # str (N,) FER2013 usage from the file name, "" where the name has none
    paths: np.ndarray  # str (N,) path relative to the root, with forward slashes
    skipped: dict[str, int] = field(default_factory=dict)


def is_folder_layout(path: Path) -> bool:
    return path.is_dir() and any(child.is_dir() and child.name.lower() in SPLIT_FOLDERS for child in path.iterdir())


def read_fer2013_folders(root: Path, skip_bad: bool = False) -> FolderRows:
    """Read every image under `root`; any bad file raises a one-line error naming it, unless `skip_bad`."""
    files, labels, roles = _list_images(root)
    decoded, good = decode_or_fail(files, None, skip_bad, lambda i: str(files[i]))
    relative = np.array([f.relative_to(root).as_posix() for f in files], dtype=str)
    names = [f.name for f in files]
    usage = np.array([m.group(1) if (m := _USAGE_PREFIX.match(n)) else "" for n in names], dtype=str)
    return FolderRows(
        images=decoded[good],
        labels=np.array(labels, dtype=np.int8)[good],
        folder_roles=np.array(roles, dtype=str)[good],
        usage=usage[good],
        paths=relative[good],
        skipped={"unreadable_image": int((~good).sum())} if not good.all() else {},
    )


def _list_images(root: Path) -> tuple[list[Path], list[int], list[str]]:
    """Every image file under root/<split>/<class>/, sorted, with its label and split-folder role."""
    files: list[Path] = []
    labels: list[int] = []
    roles: list[str] = []
    resolved_root = root.resolve()
    for split_dir in sorted(_visible(root)):
        if not split_dir.is_dir():
            continue
        role = SPLIT_FOLDERS.get(split_dir.name.lower())
        if role is None:
            known = ", ".join(sorted(SPLIT_FOLDERS))
            raise FerdataError(f"{split_dir}: unknown split folder (known: {known})")
        for class_dir in sorted(_visible(split_dir)):
            if not class_dir.is_dir():
                raise FerdataError(f"{class_dir}: expected only class folders in {split_dir}")
            try:
                label = label_of_name(class_dir.name)
            except FerdataError as exc:
                raise FerdataError(f"{class_dir}: {exc}") from None
            entries = sorted(_visible(class_dir))
            if not entries:
                raise FerdataError(f"{class_dir}: empty class folder")
            for entry in entries:
                if not entry.is_file():
                    raise FerdataError(f"{entry}: expected only image files in {class_dir}")
                if not entry.resolve().is_relative_to(resolved_root):
                    raise FerdataError(f"{entry}: links outside the dataset root {root}")
                files.append(entry)
                labels.append(label)
                roles.append(role)
    if not files:
        raise FerdataError(f"{root}: no images found under <split>/<class>/ folders")
    return files, labels, roles


def _visible(directory: Path) -> list[Path]:
    """Entries of a directory, less hidden files and OS droppings (.DS_Store, __MACOSX, Thumbs.db)."""
    return [p for p in directory.iterdir() if not p.name.startswith((".", "__")) and p.name.lower() != "thumbs.db"]
