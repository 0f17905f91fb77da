"""params.yaml's `leakdemo:` section: the leakage demonstration."""

from typing import Literal

from pydantic import Field

from ferdata.config import Section


class LeakdemoParams(Section):
    enabled: Literal["auto"] | bool = Field("auto", description="auto: on for the cpu-smoke profile only")
    variant: str = Field("smote", description="resampled before splitting, against this variant's train stage")

    def enabled_for(self, profile: str) -> bool:
        return profile == "cpu-smoke" if self.enabled == "auto" else self.enabled
