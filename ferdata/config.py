"""Reading params.yaml: YAML in, a validated pydantic model out, the first problem as one line naming the key.

Each stage reads the sections it uses through a model of those sections (`StageParams`), so a stage's code
depends only on the modules that own them; `ferdata.params.Params` is the whole file, checked by the CLI.
"""

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ferdata.errors import FerdataError, first_line

PARAMS_FILE = Path("params.yaml")


class Section(BaseModel):
    """A params.yaml section: unknown keys and bad values are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StageParams(BaseModel):
    """The sections one stage reads; the file's other sections are left to their owners."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    seed: int = 0


Model = TypeVar("Model", bound=BaseModel)


def load(model: type[Model], path: Path = PARAMS_FILE) -> Model:
    """Read and validate `path` as `model`; the first problem is reported as `file: key.path: message`."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise FerdataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except (OSError, yaml.YAMLError) as exc:
        raise FerdataError(f"{path}: not readable YAML ({first_line(exc)})") from None
    if not isinstance(raw, dict):
        raise FerdataError(f"{path}: expected a mapping of sections, found {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise FerdataError(f"{path}: {describe(exc)}") from None


def load_or_default(model: type[Model], path: Path | None = None) -> Model:
    """`path`, or ./params.yaml when there is one, or the defaults."""
    if path is None and not PARAMS_FILE.exists():
        return model()
    return load(model, path or PARAMS_FILE)


def describe(error: ValidationError) -> str:
    """The first problem of a validation error in one line: `key.path: message`."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
