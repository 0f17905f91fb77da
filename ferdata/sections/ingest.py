"""params.yaml's `ingest:` section: which source, and how it is split."""

from typing import Literal

from pydantic import Field

from ferdata.config import Section

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
