"""params.yaml: one section per stage, validated on load (unknown keys and bad values are errors)."""

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ferdata.errors import FerdataError, first_line
from ferdata.variants import STEP_SECTIONS

# Names that become folder names (variants): no separators, no "..", no hidden names.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]*")


def _check_variant_name(name: str) -> None:
    if not _PLAIN_NAME.fullmatch(name):
        raise ValueError(f"variant name {name!r} is not a plain name (letters, digits, _, - and +)")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SynthParams(_Section):
    rows: int = Field(3500, ge=70, description="rows of the embedded default CSV")


class IngestParams(_Section):
    path: str = Field("data/raw/synthetic.csv", description="the source; the default is the synth stage's output")
    format: Literal["auto", "fer2013", "expw", "affectnet", "rafdb"] = Field(
        "auto", description="which source the path holds; auto: detected when unambiguous"
    )
    min_face_confidence: float = Field(0.0, ge=0, description="ExpW: faces with a lower box confidence are dropped")
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


# imbalanced-learn's sampling strategies; classes are named (e.g. {disgust: 1000} or [happy, neutral]).
SamplingStrategy = (
    Literal["auto", "all", "minority", "majority", "not minority", "not majority"] | dict[str, int] | list[str]
)


class NeighborParams(_Section):
    backend: Literal["sklearn", "torch", "pca"] = Field("torch", description="k-NN search behind SMOTE/Tomek/ENN")
    components: int = Field(64, ge=2, description="pca: dimensions of the sketch")
    candidates: int = Field(8, ge=0, description="pca: extra candidates re-ranked by true distance")
    chunk_rows: int = Field(1024, ge=1, description="queries per chunk: bounds memory")
    device: str = Field("auto", description="torch device: auto, cpu, cuda, cuda:1 ...")


class SamplingParams(_Section):
    sampling_strategy: SamplingStrategy = "auto"


class SmoteParams(SamplingParams):
    k_neighbors: int = Field(5, ge=1)


class AdasynParams(SamplingParams):
    n_neighbors: int = Field(5, ge=1)


class CleaningParams(_Section):
    sampling_strategy: SamplingStrategy = "all"  # imblearn's SMOTETomek and SMOTEENN clean all classes


class EnnParams(CleaningParams):
    n_neighbors: int = Field(3, ge=1)
    kind_sel: Literal["all", "mode"] = "all"


class AugmentParams(_Section):
    mode: Literal["balance", "multiply"] = Field("balance", description="grow classes to the majority, or x multiplier")
    multiplier: float = Field(2.0, ge=1.0, description="multiply: each class ends at count x multiplier")
    hflip: float = Field(0.5, ge=0, le=1, description="probability of a horizontal flip")
    affine: float = Field(0.7, ge=0, le=1, description="probability of rotation/shift/zoom")
    rotate: float = Field(10.0, ge=0, le=180, description="degrees, +-")
    shift: float = Field(0.1, ge=0, le=0.5, description="fraction of the side, +-")
    zoom: float = Field(0.1, ge=0, lt=1, description="scale 1 +- zoom")
    color: float = Field(0.5, ge=0, le=1, description="probability of a brightness/contrast change")
    brightness: float = Field(0.2, ge=0, le=1)
    contrast: float = Field(0.2, ge=0, le=1)
    noise: float = Field(0.3, ge=0, le=1, description="probability of Gaussian noise")
    noise_std: tuple[float, float] = Field((0.02, 0.06), description="noise std range, fraction of 255")
    erase: float = Field(0.3, ge=0, le=1, description="probability of random erasing (one hole)")
    erase_size: tuple[float, float] = Field((0.1, 0.3), description="hole side range, fraction of the side")


class MergeParams(_Section):
    data: str = Field("", description="another ingested dataset whose TRAIN split is added, e.g. data/splits/expw")
    classes: list[str] | None = Field(None, description="only these classes (by name); None: all")
    per_class: int | None = Field(None, ge=1, description="at most this many rows per class, drawn with the seed")


class StepParams(_Section):
    """The params of every step that takes some; a variant sets those of its own steps."""

    ros: SamplingParams = SamplingParams()
    rus: SamplingParams = SamplingParams()
    smote: SmoteParams = SmoteParams()
    adasyn: AdasynParams = AdasynParams()
    tomek: CleaningParams = CleaningParams()
    enn: EnnParams = EnnParams()
    augment: AugmentParams = AugmentParams()
    merge: MergeParams = MergeParams()


class VariantParams(StepParams):
    """One variant: its ordered steps, and params for those steps (unset ones take the defaults above).

    A variant carries its own step params, so DVC reruns only the variant whose params changed.
    """

    steps: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _steps_known_and_params_used(self) -> "VariantParams":
        unknown = [s for s in self.steps if s not in STEP_SECTIONS]
        if unknown:
            raise ValueError(f"unknown step {unknown[0]!r} (known: {', '.join(STEP_SECTIONS)})")
        if len(set(self.steps)) != len(self.steps):
            raise ValueError("list each step once")
        unused = (self.model_fields_set - {"steps"}) - set(self.sections())
        if unused:
            raise ValueError(f"params for {sorted(unused)[0]!r}, which none of the steps {self.steps} uses")
        return self

    def sections(self) -> list[str]:
        """The params sections the steps read, in order (composites such as smotetomek read two)."""
        return [section for step in self.steps for section in STEP_SECTIONS[step]]


def _variant(*steps: str, **params: dict) -> VariantParams:
    return VariantParams(steps=list(steps), **params)


DEFAULT_VARIANTS: dict[str, VariantParams] = {
    "none": _variant("none"),
    "class_weight": _variant("class_weight"),
    "ros": _variant("ros"),
    "rus": _variant("rus"),
    "smote": _variant("smote"),
    "adasyn": _variant("adasyn"),
    "smotetomek": _variant("smotetomek"),
    "smoteenn": _variant("smoteenn"),
    "augment": _variant("augment"),
    "smote_augment": _variant("smote", "augment", augment={"mode": "multiply", "multiplier": 2.0}),
}


class BuildParams(_Section):
    data: str = Field("data/splits/fer2013", description="the ingested dataset variants are built from")
    out: str = Field("data/variants", description="variants are written to OUT/<variant>/")
    warn_class_loss: float = Field(
        0.5, gt=0, le=1, description="warn when a cleaning step removes this share of a class"
    )
    neighbors: NeighborParams = NeighborParams()
    variants: dict[str, VariantParams] = Field(default_factory=lambda: dict(DEFAULT_VARIANTS))
    pipeline: list[str] = Field(default_factory=lambda: list(DEFAULT_VARIANTS), description="variants dvc repro builds")

    @model_validator(mode="after")
    def _pipeline_variants_exist(self) -> "BuildParams":
        for name in self.variants:
            _check_variant_name(name)
        unknown = [v for v in self.pipeline if v not in self.variants]
        if unknown:
            raise ValueError(f"pipeline: unknown variant {unknown[0]!r} (known: {', '.join(self.variants)})")
        return self


class LeakdemoParams(_Section):
    enabled: Literal["auto"] | bool = Field("auto", description="auto: on for the cpu-smoke profile only")
    variant: str = Field("smote", description="resampled before splitting, against this variant's train stage")


class CompareParams(_Section):
    ensembles: dict[str, list[str]] = Field(
        default_factory=lambda: {"ros+smote+smotetomek": ["ros", "smote", "smotetomek"]},
        description="name: variants whose mean softmax is scored as one more row",
    )


class Params(_Section):
    seed: int = 0
    profile: Literal["cpu-smoke", "paper"] = "cpu-smoke"
    synth: SynthParams = SynthParams()
    ingest: IngestParams = IngestParams()
    audit: AuditParams = AuditParams()
    build: BuildParams = BuildParams()
    # Overrides of the trainer profile's fields (trainer/config.py), checked there: unknown keys are errors.
    train: dict[str, Any] = Field(default_factory=dict)
    leakdemo: LeakdemoParams = LeakdemoParams()
    compare: CompareParams = CompareParams()

    @model_validator(mode="after")
    def _trained_variants_exist(self) -> "Params":
        trained = self.build.pipeline
        wanted = [(f"compare.ensembles.{name}", v) for name, members in self.compare.ensembles.items() for v in members]
        if self.leakdemo_enabled():
            wanted.append(("leakdemo.variant", self.leakdemo.variant))
        for key, variant in wanted:
            if variant not in trained:
                raise ValueError(f"{key}: {variant!r} is not in build.pipeline (trained: {', '.join(trained)})")
        return self

    def leakdemo_enabled(self) -> bool:
        return self.profile == "cpu-smoke" if self.leakdemo.enabled == "auto" else self.leakdemo.enabled


def load_params(path: Path) -> Params:
    """Read and validate params.yaml; the first problem is reported as `file: key.path: message`."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise FerdataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except (OSError, yaml.YAMLError) as exc:
        raise FerdataError(f"{path}: not readable YAML ({first_line(exc)})") from None
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise FerdataError(f"{path}: {describe(exc)}") from None


def describe(error: ValidationError) -> str:
    """The first problem of a validation error in one line: `key.path: message`."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
