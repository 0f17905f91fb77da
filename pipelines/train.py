"""Stage `train@<variant>`: a network trained and scored on one variant, by the recipe of params.yaml's
`profile` with its `train:` overrides.

Usage: python -m pipelines.train DATA_DIR OUT_DIR   (e.g. data/variants/smote models/smote)
"""

import sys
from pathlib import Path

from ferdata.config import load
from ferdata.recipe import TrainingParams
from pipelines.timings import timed
from trainer.loop import fit


def main(data: str, out: str) -> None:
    params = load(TrainingParams)
    with timed(f"train@{Path(out).name}") as record:
        metrics = fit(Path(data), Path(out), params.recipe(), params.seed)
        record["images_per_epoch"] = metrics["train_rows"]
        record["epochs"] = metrics["epochs_run"]


if __name__ == "__main__":
    main(*sys.argv[1:])
