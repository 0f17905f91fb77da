"""What ferdata may write, and how: an output never destroys what ferdata did not write, never appears half
written, and what a killed run left behind is restored or removed by the next run.

- Every output directory holds a marker, `.ferdata.json` (`{"kind": ...}`). An existing output is replaced only
  when its marker names the same kind (`force` also lets one ferdata kind replace another); an existing path
  without the marker is the user's and is refused, as is an output equal to, inside or containing an input,
  or the current directory or one of its parents.
- Files and directories are written under a temporary name, `.NAME.ferdata-PID-XXXX.tmp`, and renamed into
  place. A replaced directory is first parked as `.NAME.ferdata-PID-XXXX.old/previous`: a kill between the two
  renames leaves the output absent and the previous one parked, and `claim` (which every command calls before it
  writes) puts it back. Leftovers are recognised by that name, the PID of a process that no longer runs and,
  for a directory, the marker inside it; nothing else is ever removed.
"""

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ferdata.errors import FerdataError

MARKER = ".ferdata.json"
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.ferdata-(?P<pid>\d+)-[^.]+\.(?P<kind>tmp|old)$")


def claim(out: Path, kind: str, inputs: Iterable[Path | None] = (), force: bool = False) -> None:
    """Check that `out` may become an output of `kind`, after restoring or removing what a killed run left."""
    target = out.resolve()
    here = Path.cwd().resolve()
    if here.is_relative_to(target):
        raise FerdataError(f"{out}: refusing to write an output over the current directory or one of its parents")
    for source in (Path(p) for p in inputs if p is not None):
        resolved = source.resolve()
        if target == resolved:
            raise FerdataError(f"{out}: the output would replace the input {source}; choose another output")
        if resolved.is_relative_to(target):
            raise FerdataError(f"{out}: the output would contain the input {source}; choose another output")
        if target.is_relative_to(resolved) and resolved.is_dir():
            raise FerdataError(f"{out}: the output would lie inside the input {source}; choose another output")
    _check_parent(out)
    recover(out)
    if out.is_symlink():
        raise FerdataError(f"{out}: is a symbolic link; give the real path of the output")
    if not out.exists():
        return
    if not out.is_dir():
        raise FerdataError(f"{out}: exists and is a file, not a ferdata {kind} directory; choose another output")
    found = marker_kind(out)
    if found is None:
        if any(out.iterdir()):
            raise FerdataError(
                f"{out}: exists and was not written by ferdata (no {MARKER}); choose another output or move it away"
            )
    elif found != kind and not force:
        raise FerdataError(f"{out}: holds a ferdata {found}, not a {kind}; pass --force to replace it")


def claim_file(out: Path, inputs: Iterable[Path | None] = (), force: bool = False) -> None:
    """Check that the file `out` may be written: an existing file is replaced only inside a ferdata output
    directory or with `force` (ferdata cannot tell its own CSV or JSON from the user's)."""
    for source in (Path(p) for p in inputs if p is not None):
        if out.resolve() == source.resolve():
            raise FerdataError(f"{out}: the output would replace the input {source}; choose another output")
    _check_parent(out)
    recover(out)
    if out.is_dir():
        raise FerdataError(f"{out}: is a directory; give a file name")
    if out.exists() and not force and marker_kind(out.parent) is None:
        raise FerdataError(f"{out}: exists; pass --force to replace it (ferdata cannot tell whether it wrote it)")


def _check_parent(out: Path) -> None:
    """The nearest existing ancestor of `out` must be a folder (mkdir would fail on a file with less to say)."""
    for parent in out.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise FerdataError(f"{out}: {parent} is a file, not a folder")
            return


def marker_kind(directory: Path) -> str | None:
    """The kind of ferdata output `directory` is, or None when it holds no readable marker."""
    try:
        kind = json.loads((directory / MARKER).read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None


def write_marker(directory: Path, kind: str) -> None:
    (directory / MARKER).write_text(json.dumps({"kind": kind, "written_by": "ferdata"}) + "\n", encoding="utf-8")


def open_output_dir(out: Path, kind: str) -> None:
    """Make `out` (already claimed) a ferdata output of `kind` that is written file by file, in place."""
    out.mkdir(parents=True, exist_ok=True)
    if marker_kind(out) is None:
        write_marker(out, kind)


def recover(out: Path) -> None:
    """Restore the output a killed run parked and remove the temporary files it left, for `out` only."""
    if not out.parent.is_dir():
        return
    for leftover in sorted(out.parent.iterdir()):
        match = _LEFTOVER.match(leftover.name)
        if match is None or match["name"] != out.name or _running(int(match["pid"])):
            continue
        if match["kind"] == "tmp":
            if leftover.is_dir() and not leftover.is_symlink():
                if not _ours(leftover):
                    continue
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
            continue
        previous = leftover / "previous"
        if previous.exists() and not _ours(previous):
            continue
        if previous.exists() and not os.path.lexists(out):
            os.replace(previous, out)
        shutil.rmtree(leftover)


def _ours(directory: Path) -> bool:
    """A directory ferdata made: it holds the marker, or nothing yet (killed right after it was made)."""
    return marker_kind(directory) is not None or not any(directory.iterdir())


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}.ferdata-{os.getpid()}-"


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        with _naming(tmp_path, path):
            yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: Path, kind: str) -> Iterator[Path]:
    """Yield a fresh temporary directory holding the marker of `kind`; on success it takes the place of `path`
    whole. Call `claim(path, kind, ...)` first: this replaces whatever is at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        write_marker(tmp, kind)
        with _naming(tmp, path):
            yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        parked = None
        if os.path.lexists(path):
            parked = Path(tempfile.mkdtemp(prefix=_temporary_prefix(path), suffix=".old", dir=path.parent))
            os.replace(path, parked / "previous")
        os.replace(tmp, path)
        if parked is not None:
            shutil.rmtree(parked)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


@contextlib.contextmanager
def _naming(tmp: Path, path: Path) -> Iterator[None]:
    """A failed write (full disk, file too large) names the output it was writing, not its temporary name."""
    try:
        yield
    except OSError as exc:
        written = Path(exc.filename) if isinstance(exc.filename, str) else tmp
        if written == tmp or written.is_relative_to(tmp):
            named = str(path / written.relative_to(tmp)).removesuffix("/.")
            raise OSError(exc.errno, exc.strerror or str(exc), named) from None
        raise


def _umask() -> int:
    """The process umask (temporary files are created private; outputs get the usual permissions)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
