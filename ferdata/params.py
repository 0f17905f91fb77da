"""params.yaml as a whole: every section, validated on load (unknown keys and bad values are errors).

Each section's model lives with its owner: one module per section in `ferdata.sections`, the build section in
`ferdata.variants.section` (each step's params in its step module), the training recipe in `ferdata.recipe`.
"""

from pathlib import Path

from pydantic import ConfigDict, model_validator

from ferdata.config import load
from ferdata.recipe import TrainingParams
from ferdata.sections.audit import AuditParams
from ferdata.sections.compare import CompareParams
from ferdata.sections.ingest import IngestParams
from ferdata.sections.leakdemo import LeakdemoParams
from ferdata.sections.synth import SynthParams
from ferdata.variants.section import BuildStageParams


class Params(TrainingParams, BuildStageParams):
    """The whole params.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    synth: SynthParams = SynthParams()
    ingest: IngestParams = IngestParams()
    audit: AuditParams = AuditParams()
    leakdemo: LeakdemoParams = LeakdemoParams()
    compare: CompareParams = CompareParams()

    @model_validator(mode="after")
    def _trained_variants_exist(self) -> "Params":
        trained = self.build.pipeline_variants()
        wanted = [(f"compare.ensembles.{name}", v) for name, members in self.compare.ensembles.items() for v in members]
        if self.leakdemo.enabled_for(self.profile):
            wanted.append(("leakdemo.variant", self.leakdemo.variant))
        for key, variant in wanted:
            if variant not in trained:
                raise ValueError(f"{key}: {variant!r} is not in build.pipeline (trained: {', '.join(trained)})")
        return self


def load_params(path: Path) -> Params:
    """The whole params.yaml, validated."""
    return load(Params, path)
