"""Write outputs under a temporary name and rename, so a failure never leaves half an output."""

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it takes the place of `path` whole.

    An existing `path` is moved aside first and deleted only after the new one is in place, so at
    every moment `path` is either the complete old output or the complete new one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "previous")
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _umask() -> int:
    """The process umask (temporary files are created private; outputs get the usual permissions)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def staged_files(directory: Path) -> Iterator[Path]:
    """Yield an empty staging directory inside `directory`; on success every file written there moves to
    the same relative path in `directory` (one rename each, replacing files of the same name, leaving every
    other file alone); on failure none does."""
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staged.", suffix=".tmp", dir=directory))
    try:
        yield staging
        for file in sorted(p for p in staging.rglob("*") if p.is_file()):
            target = directory / file.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(file, 0o666 & ~_umask())
            os.replace(file, target)
    finally:
        shutil.rmtree(staging)
