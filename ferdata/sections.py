"""The params.yaml sections of the data stages that need no step or trainer code (the build section is
`ferdata.params.BuildParams`, the training recipe `ferdata.recipe`)."""

from typing import Literal

from pydantic import Field

from ferdata.config import Section


class SynthParams(Section):
    rows: int = Field(3500, ge=70, description="rows of the embedded default CSV")


# The sources ferdata reads (ferdata.sources.registry checks its classes against this list at import).
SOURCE_NAMES = ("fer2013", "expw", "affectnet", "rafdb")


class IngestParams(Section):
    path: str = Field("data/raw/synthetic.csv", description="the source; the default is the synth stage's output")
    format: Literal["auto", *SOURCE_NAMES] = Field(
        "auto", description="which source the path holds; auto: detected when unambiguous"
    )
    ferplus: str = Field("", description="FER+ fer2013new.csv: relabel FER2013 by majority vote; '': no")
    min_face_confidence: float = Field(0.0, ge=0, description="ExpW: faces with a lower box confidence are dropped")
    val_fraction: float = Field(0.1, gt=0, lt=0.5, description="share of train carved into val when none exists")
    test_fraction: float = Field(0.1, gt=0, lt=0.5, description="share of train carved into test when none exists")
    swap_test_roles: bool = Field(False, description="PublicTest as val and PrivateTest as test")
    dedupe: bool = Field(False, description="drop train images whose pixels also occur in val or test")
    skip_bad: bool = Field(False, description="skip bad rows or images (counted in the card) instead of failing")


class AuditParams(Section):
    near_constant_std: float = Field(3.0, ge=0, description="pixel std below which an image is near-constant")
    near_duplicate_correlation: float = Field(
        0.95, gt=0, le=1, description="pixel correlation that confirms a near-duplicate"
    )


class LeakdemoParams(Section):
    enabled: Literal["auto"] | bool = Field("auto", description="auto: on for the cpu-smoke profile only")
    variant: str = Field("smote", description="resampled before splitting, against this variant's train stage")

    def enabled_for(self, profile: str) -> bool:
        return profile == "cpu-smoke" if self.enabled == "auto" else self.enabled


class CompareParams(Section):
    ensembles: dict[str, list[str]] = Field(
        default_factory=lambda: {"ros+smote+smotetomek": ["ros", "smote", "smotetomek"]},
        description="name: variants whose mean softmax is scored as one more row",
    )
