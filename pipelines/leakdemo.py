"""Stage `leakdemo`: the leakage demonstration. `leakdemo.variant`'s resampling applied to the whole dataset
before splitting (seed 001's mistake), trained by the same recipe as that variant's train stage, and the two
reported side by side.

Usage: python -m pipelines.leakdemo DATASET_DIR HONEST_VARIANT_DIR HONEST_MODEL_DIR OUT_DIR REPORT.json
"""

import json
import sys
from pathlib import Path

from ferdata.card import write_json
from ferdata.config import load
from ferdata.leakdemo import leak_report, leaky_dataset
from ferdata.outputs import atomic_dir, claim, open_output_dir
from ferdata.recipe import TrainingParams
from ferdata.sections.leakdemo import LeakdemoParams
from ferdata.store import load_dataset, save_split
from ferdata.variants.registry import steps_of
from ferdata.variants.section import BuildStageParams
from pipelines.timings import timed
from trainer.loop import fit


class LeakdemoStage(TrainingParams, BuildStageParams):
    leakdemo: LeakdemoParams = LeakdemoParams()


def main(dataset: str, honest_data: str, honest_model: str, out: str, report: str) -> None:
    params = load(LeakdemoStage)
    out_dir = Path(out)
    claim(out_dir, "leakdemo")
    if not params.leakdemo.enabled_for(params.profile):
        with atomic_dir(out_dir, "leakdemo") as tmp:
            (tmp / "DISABLED").write_text(f"leakdemo.enabled is {params.leakdemo.enabled} (profile {params.profile})\n")
        write_json(Path(report), {"enabled": False})
        return
    variant = params.leakdemo.variant
    with timed("leakdemo"):
        leaky = leaky_dataset(
            load_dataset(Path(dataset)), steps_of(variant, params.build.variants, params.build.neighbors), params.seed
        )
        # The leaky dataset and the model trained on it: two outputs side by side in OUT_DIR.
        open_output_dir(out_dir, "leakdemo")
        claim(out_dir / "data", "dataset")
        with atomic_dir(out_dir / "data", "dataset") as tmp:
            for name, split in leaky.items():
                save_split(split, tmp / f"{name}.npz")
        metrics = fit(out_dir / "data", out_dir / "model", params.recipe(), params.seed)
        honest = json.loads((Path(honest_model) / "metrics.json").read_text())
        comparison = leak_report(variant, honest, metrics, load_dataset(Path(honest_data)), leaky)
        write_json(Path(report), {"enabled": True, **comparison})


if __name__ == "__main__":
    main(*sys.argv[1:])
