"""Stage `compare`: every trained variant (over all its seeds), the ensembles and the leakage demonstration in
one report.

Usage: python -m pipelines.compare MODELS_DIR DATASET_DIR LEAKDEMO.json OUT_DIR
"""

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from apps.compare import compare, write_comparison
from ferdata.config import StageParams, load
from ferdata.recipe import TrainSection
from ferdata.sections.compare import CompareParams
from pipelines.timings import timed


class _Trained(BaseModel):
    pipeline: list[str]  # checked against build.variants by the build stages, whose outputs this stage reads


class CompareStage(StageParams):
    build: _Trained
    train: TrainSection = TrainSection()
    compare: CompareParams = CompareParams()


def main(models: str, dataset: str, leakdemo: str, out: str) -> None:
    params = load(CompareStage)
    with timed("compare"):
        leak = json.loads(Path(leakdemo).read_text())
        report = compare(
            params.build.pipeline,
            Path(models),
            params.compare.ensembles,
            Path(dataset),
            leak,
            params.train.seeds,
            params.seed,
            params.compare.baseline,
        )
        write_comparison(report, Path(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
