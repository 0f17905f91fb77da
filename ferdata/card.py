"""Dataset cards: what a dataset was made from and how, as JSON that is byte-identical for one seed."""

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

from ferdata import __version__
from ferdata.outputs import atomic_file

_LIBRARIES = ("numpy", "pandas", "pyarrow", "pillow", "scikit-learn", "imbalanced-learn", "albumentations")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_sha256(root: Path, relative_paths: list[str]) -> str:
    """One hash over many files: their relative paths and contents, in the given order."""
    digest = hashlib.sha256()
    for relative in relative_paths:
        digest.update(f"{relative}\0{file_sha256(root / relative)}\n".encode())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "ferdata": __version__}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically, in a stable layout."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
