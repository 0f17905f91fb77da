"""Stage `compare`: every trained variant, the ensembles and the leakage demonstration in one report.

Usage: python -m pipelines.compare MODELS_DIR DATASET_DIR LEAKDEMO.json OUT_DIR
"""

import json
import sys
from pathlib import Path

from ferdata.params import load_params
from pipelines.timings import timed
from trainer.compare import compare, write_comparison


def main(models: str, dataset: str, leakdemo: str, out: str) -> None:
    params = load_params(Path("params.yaml"))
    with timed("compare"):
        leak = json.loads(Path(leakdemo).read_text())
        report = compare(params.build.pipeline, Path(models), params.compare.ensembles, Path(dataset), leak)
        write_comparison(report, Path(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
