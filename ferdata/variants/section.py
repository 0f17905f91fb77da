"""params.yaml's `build:` section: where variants are read from and written to, the neighbour search, and the
variants, each a list of registered steps with their params."""

import re

from pydantic import Field, model_validator

from ferdata.config import Section, StageParams
from ferdata.variants.base import NeighborParams
from ferdata.variants.registry import VariantParams, one_step_variants

# Names that become folder names (variants): no separators, no "..", no hidden names.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]*")


class BuildParams(Section):
    data: str = Field("data/splits/fer2013", description="the ingested dataset variants are built from")
    out: str = Field("data/variants", description="variants are written to OUT/<variant>/")
    warn_class_loss: float = Field(
        0.5, gt=0, le=1, description="warn when a cleaning step removes this share of a class"
    )
    neighbors: NeighborParams = NeighborParams()
    # Without params.yaml, every step is a variant of its own; params.yaml lists the pipeline's variants.
    variants: dict[str, VariantParams] = Field(default_factory=one_step_variants)
    pipeline: list[str] | None = Field(None, description="variants dvc repro builds [default: all of them]")

    @model_validator(mode="after")
    def _variant_names_plain_and_pipeline_known(self) -> "BuildParams":
        for name in self.variants:
            if not _PLAIN_NAME.fullmatch(name):
                raise ValueError(f"variant name {name!r} is not a plain name (letters, digits, _, - and +)")
        unknown = [v for v in self.pipeline or () if v not in self.variants]
        if unknown:
            raise ValueError(f"pipeline: unknown variant {unknown[0]!r} (known: {', '.join(self.variants)})")
        return self

    def pipeline_variants(self) -> list[str]:
        return list(self.variants) if self.pipeline is None else self.pipeline


class BuildStageParams(StageParams):
    """What `build@<variant>` reads."""

    build: BuildParams = BuildParams()
