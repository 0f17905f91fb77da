"""Stage `ingest`: a source becomes leak-free train/val/test splits.

Usage: python -m pipelines.ingest SOURCE OUT_DIR
"""

import sys
from pathlib import Path

from ferdata.ingest import ingest
from ferdata.params import load_params
from pipelines.timings import timed


def main(source: str, out: str) -> None:
    params = load_params(Path("params.yaml"))
    with timed("ingest"):
        ingest(Path(source), Path(out), params.ingest, params.seed)


if __name__ == "__main__":
    main(*sys.argv[1:])
