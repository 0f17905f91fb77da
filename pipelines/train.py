"""Stage `train@<variant>-<seed>`: a network trained and scored on one variant with one of params.yaml's
`train.seeds`, by the recipe of its `profile` with the `train.recipe` overrides.

Usage: python -m pipelines.train DATA_DIR OUT_DIR SEED   (e.g. data/variants/smote models/smote/seed0 0)
"""

import sys
from pathlib import Path

from ferdata.config import load
from ferdata.recipe import TrainingParams
from pipelines.timings import timed
from trainer.loop import fit


def main(data: str, out: str, seed: str) -> None:
    params = load(TrainingParams)
    with timed(f"train@{Path(out).parent.name}-{seed}") as record:
        metrics = fit(Path(data), Path(out), params.recipe(), int(seed))
        record["images_per_epoch"] = metrics["train_rows"]
        record["epochs"] = metrics["epochs_run"]


if __name__ == "__main__":
    main(*sys.argv[1:])
