"""params.yaml's `audit:` section: the thresholds of the duplicate and quality audit."""

from pydantic import Field

from ferdata.config import Section


class AuditParams(Section):
    near_constant_std: float = Field(3.0, ge=0, description="pixel std below which an image is near-constant")
    near_duplicate_correlation: float = Field(
        0.95, gt=0, le=1, description="pixel correlation that confirms a near-duplicate"
    )
