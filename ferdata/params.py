"""params.yaml: one section per stage, validated on load (unknown keys and bad values are errors)."""

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ferdata.errors import FerdataError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SynthParams(_Section):
    rows: int = Field(3500, ge=70, description="rows of the embedded default CSV")


class IngestParams(_Section):
    val_fraction: float = Field(0.1, gt=0, lt=0.5, description="share of train carved into val when none exists")
    test_fraction: float = Field(0.1, gt=0, lt=0.5, description="share of train carved into test when none exists")
    swap_test_roles: bool = Field(False, description="PublicTest as val and PrivateTest as test")
    dedupe: bool = Field(False, description="drop train images whose pixels also occur in val or test")
    skip_bad: bool = Field(False, description="skip bad rows or images (counted in the card) instead of failing")


class AuditParams(_Section):
    near_constant_std: float = Field(3.0, ge=0, description="pixel std below which an image is near-constant")
    near_duplicate_correlation: float = Field(
        0.95, gt=0, le=1, description="pixel correlation that confirms a near-duplicate"
    )


class Params(_Section):
    seed: int = 0
    profile: Literal["cpu-smoke", "paper"] = "cpu-smoke"
    synth: SynthParams = SynthParams()
    ingest: IngestParams = IngestParams()
    audit: AuditParams = AuditParams()


def load_params(path: Path) -> Params:
    """Read and validate params.yaml; the first problem is reported as `file: key.path: message`."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise FerdataError(f"{path}: not readable YAML ({str(exc).splitlines()[0]})") from None
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        raise FerdataError(f"{path}: {where}: {message}") from None
