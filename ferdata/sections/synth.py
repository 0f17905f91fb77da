"""params.yaml's `synth:` section: the embedded default's size."""

from pydantic import Field

from ferdata.config import Section


class SynthParams(Section):
    rows: int = Field(3500, ge=70, description="rows of the embedded default CSV")
