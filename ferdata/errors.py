"""The one exception type a user's mistake raises, and the one way every command line reports it."""

import contextlib
import sys
from collections.abc import Iterator


class FerdataError(Exception):
    """Bad input or a broken contract, described in one line that names the file (and row)."""


def first_line(exc: BaseException) -> str:
    """The first line of a library's message (pandas, scikit-learn and Arrow write several)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def one_line(message: str) -> str:
    """`message` as one printable line: control characters, and the bytes of a file name that is not UTF-8
    (held as lone surrogates), written as escapes."""
    return "".join(_printable(ch) for ch in message)


def _printable(ch: str) -> str:
    if ch.isprintable() or ch == " ":
        return ch
    if 0xDC80 <= ord(ch) <= 0xDCFF:  # a byte that was not UTF-8, kept by Python's surrogateescape
        return f"\\x{ord(ch) - 0xDC00:02x}"
    return repr(ch)[1:-1]


def os_problem(exc: OSError) -> str:
    """An operating-system failure (full disk, read-only file system, a file where a folder should be) as
    `PATH: what went wrong`."""
    where = ": ".join(str(name) for name in (exc.filename, exc.filename2) if name is not None)
    what = exc.strerror or str(exc)
    return f"{where}: {what}" if where else what


@contextlib.contextmanager
def exit_on_error(program: str) -> Iterator[None]:
    """Turn a user's mistake or the machine's refusal into `PROGRAM: error: ...` on one line and exit 1;
    Ctrl+C exits 130. Anything else is a bug in ferdata and keeps its traceback."""
    try:
        yield
    except FerdataError as exc:
        _fail(program, str(exc), 1)
    except OSError as exc:
        _fail(program, os_problem(exc), 1)
    except KeyboardInterrupt:
        _fail(program, "interrupted", 130)


def _fail(program: str, message: str, status: int) -> None:
    print(f"{program}: error: {one_line(message)}", file=sys.stderr)
    sys.exit(status)
