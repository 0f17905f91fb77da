"""Stage `ingest`: a source becomes leak-free train/val/test splits.

Usage: python -m pipelines.ingest SOURCE OUT_DIR
"""

import sys
from pathlib import Path

from ferdata.config import StageParams, load
from ferdata.ingest import ingest
from ferdata.sections.ingest import IngestParams
from pipelines.timings import timed


class IngestStage(StageParams):
    ingest: IngestParams = IngestParams()


def main(source: str, out: str) -> None:
    params = load(IngestStage)
    with timed("ingest"):
        ingest(Path(source), Path(out), params.ingest, params.seed)


if __name__ == "__main__":
    main(*sys.argv[1:])
