"""Stage `synth`: draw the embedded default dataset as a FER2013 CSV.  Usage: python -m pipelines.synth OUT.csv"""

import sys
from pathlib import Path

from ferdata.config import StageParams, load
from ferdata.sections.synth import SynthParams
from ferdata.sources.fer2013_csv import write_fer2013_csv
from ferdata.synth import synthesize
from pipelines.timings import timed


class SynthStage(StageParams):
    synth: SynthParams = SynthParams()


def main(out: str) -> None:
    params = load(SynthStage)
    with timed("synth"):
        write_fer2013_csv(Path(out), *synthesize(params.synth.rows, params.seed, params.synth.test_rows))


if __name__ == "__main__":
    main(*sys.argv[1:])
