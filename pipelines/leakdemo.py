"""Stage `leakdemo`: the leakage demonstration. `leakdemo.variant`'s resampling applied to the whole dataset
before splitting (seed 001's mistake), trained by the same recipe and training seed as one of that variant's
train stages, and the two reported side by side.

Usage: python -m pipelines.leakdemo DATASET_DIR HONEST_VARIANT_DIR HONEST_MODEL_DIR OUT_DIR REPORT.json SEED
"""

import json
import sys
from pathlib import Path

import numpy as np

from ferdata.card import write_json
from ferdata.config import load
from ferdata.labels import NUM_CLASSES
from ferdata.leakdemo import leak_report, leaky_dataset
from ferdata.outputs import atomic_dir, claim, open_output_dir
from ferdata.recipe import TrainingParams
from ferdata.sections.leakdemo import LeakdemoParams
from ferdata.store import load_dataset, save_split
from ferdata.variants.registry import steps_of
from ferdata.variants.section import BuildStageParams
from pipelines.timings import timed
from trainer.ensemble import mean_probabilities
from trainer.loop import fit


class LeakdemoStage(TrainingParams, BuildStageParams):
    leakdemo: LeakdemoParams = LeakdemoParams()


def main(dataset: str, honest_data: str, honest_model: str, out: str, report: str, seed: str) -> None:
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
        source = load_dataset(Path(dataset))
        leaky = leaky_dataset(source, steps_of(variant, params.build.variants, params.build.neighbors), params.seed)
        # The leaky dataset and the model trained on it: two outputs side by side in OUT_DIR.
        open_output_dir(out_dir, "leakdemo")
        claim(out_dir / "data", "dataset")
        with atomic_dir(out_dir / "data", "dataset") as tmp:
            for name, split in leaky.items():
                save_split(split, tmp / f"{name}.npz")
            # What the honest variant was built from: with `epoch_size: source` both runs get the same steps.
            counts = np.bincount(source["train"].labels, minlength=NUM_CLASSES).tolist()
            write_json(tmp / "card.json", {"built_by": "leakdemo: resampled before splitting", "counts_before": counts})
        metrics = fit(out_dir / "data", out_dir / "model", params.recipe(), int(seed))
        probabilities, labels = mean_probabilities([out_dir / "model" / "best.pt"], out_dir / "data")["test"]
        honest = json.loads((Path(honest_model) / "metrics.json").read_text())
        honest_dataset = load_dataset(Path(honest_data))
        comparison = leak_report(variant, honest, metrics, honest_dataset, leaky, probabilities.argmax(1) == labels)
        write_json(Path(report), {"enabled": True, **comparison})


if __name__ == "__main__":
    main(*sys.argv[1:])
