"""params.yaml's `synth:` section: the embedded default's size."""

from pydantic import Field, model_validator

from ferdata.config import Section
from ferdata.labels import NUM_CLASSES


class SynthParams(Section):
    rows: int = Field(3500, ge=10 * NUM_CLASSES, description="rows of the embedded default CSV")
    test_rows: int | None = Field(
        None, ge=1, description="rows of PublicTest and of PrivateTest each; null: FER2013's shares (80/10/10)"
    )

    @model_validator(mode="after")
    def _training_left(self) -> "SynthParams":
        from ferdata.synth import usage_sizes  # the one rule, where the rows are counted (numpy: imported late)

        usage_sizes(self.rows, self.test_rows)
        return self
