"""Fields of label files: numbers are ASCII digits only, in range, or the row is rejected; headers name each
column once.

Python's own parsers are too kind for data: `int("٣")` is 3, `"²".isdigit()` is True, `float("inf")` and
`int(float("1e3"))` pass, and numpy drops a trailing NUL ("3\\0" reads as "3").
"""

import math
import re

_INT = re.compile(r"[0-9]+")
_SIGNED_INT = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_MAX_DIGITS = 9  # far beyond any label, coordinate or vote count; keeps int() cheap on hostile input
_MAX_COORDINATE = 1_000_000  # face boxes, in pixels: far beyond any photo


def ascii_int(text: str, low: int, high: int, signed: bool = False) -> int | None:
    """`text` as an integer in low..high when it is ASCII digits (with a leading '-' if `signed`), else None."""
    pattern = _SIGNED_INT if signed else _INT
    if len(text) > _MAX_DIGITS + 1 or not pattern.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def ascii_coordinate(text: str) -> int | None:
    """A face-box coordinate or size: a signed ASCII integer within a photo's plausible range, else None."""
    return ascii_int(text, -_MAX_COORDINATE, _MAX_COORDINATE, signed=True)


def repeated_name(names: list[str]) -> str | None:
    """The first column name a header holds twice (in sorted order), or None."""
    twice = sorted({name for name in names if names.count(name) > 1})
    return twice[0] if twice else None


def shown(text: str) -> str:
    """A field as an error message shows it: as it is when plain ASCII, else quoted with escapes."""
    return text if text.isascii() and text.isprintable() and text.strip() == text and text else repr(text)


def ascii_decimal(text: str) -> float | None:
    """`text` as a finite number when it is an ASCII decimal (e.g. 0.93, 1e-3), else None."""
    if len(text) > 64 or not _DECIMAL.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None
