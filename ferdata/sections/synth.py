"""params.yaml's `synth:` section: the embedded default's size."""

from pydantic import Field, model_validator

from ferdata.config import Section
from ferdata.labels import NUM_CLASSES

MIN_TRAINING_ROWS = 8 * NUM_CLASSES


class SynthParams(Section):
    rows: int = Field(3500, ge=10 * NUM_CLASSES, description="rows of the embedded default CSV")
    test_rows: int | None = Field(
        None, ge=1, description="rows of PublicTest and of PrivateTest each; null: FER2013's shares (80/10/10)"
    )

    @model_validator(mode="after")
    def _training_left(self) -> "SynthParams":
        if self.test_rows is not None and self.rows - 2 * self.test_rows < MIN_TRAINING_ROWS:
            raise ValueError(
                f"synth: rows {self.rows} minus twice test_rows {self.test_rows} leaves under "
                f"{MIN_TRAINING_ROWS} training rows"
            )
        return self
