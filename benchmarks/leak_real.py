"""The leak on the real FER2013: resampling the whole dataset before splitting (seed 001's mistake) against
ferdata's split-first build, measured by a 1-nearest-neighbour classifier on all of FER2013 and by the small
network (the cpu-smoke recipe) on a documented subset: every `--every`-th row of each official split.

Usage: python benchmarks/leak_real.py [--variant smote] [--every 5] [--epochs 12]
Needs ../shared/data/fer2013.csv.gz. Prints test top-1 with 95% bootstrap intervals and the inflation.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _measure import machine
from ferdata.build import run_steps
from ferdata.ingest import ingest
from ferdata.leakdemo import leaky_dataset, nearest_neighbour_correct, sharing_a_source
from ferdata.recipe import PROFILES
from ferdata.sections.ingest import IngestParams
from ferdata.store import Split, concat, load_dataset, save_split
from ferdata.variants.base import NeighborParams
from ferdata.variants.registry import VariantParams, variant_steps
from trainer import stats
from trainer.loop import fit

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013.csv.gz"


def honest_and_leaky(dataset: dict[str, Split], variant: str, seed: int) -> tuple[dict, dict]:
    """The variant built ferdata's way (train split only) and seed 001's way (pool, resample, split)."""
    steps = variant_steps(VariantParams(steps=[variant]), NeighborParams())
    held_out = concat([dataset["val"], dataset["test"]])
    honest = dict(dataset, train=run_steps(dataset["train"], steps, seed, held_out)[0])
    fresh = variant_steps(VariantParams(steps=[variant]), NeighborParams())
    return honest, leaky_dataset(dataset, fresh, seed)


def network_top1(data: dict[str, Split], work: Path, epochs: int, seed: int) -> tuple[float, tuple[float, float]]:
    """Test top-1 of the small network trained on `data`, with its 95% bootstrap interval."""
    for name, split in data.items():
        save_split(split, work / "data" / f"{name}.npz")
    config = PROFILES["cpu-smoke"].model_copy(update={"epochs": epochs})
    metrics = fit(work / "data", work / "model", config, seed, "cpu")
    confusion = np.array(metrics["test"]["confusion"])
    right = np.arange(confusion.sum()) < np.trace(confusion)  # top-1's interval needs only how many were right
    low_high = stats.interval(stats.top1_per_round(right, stats.resample_counts(len(right), seed=seed)))
    return metrics["test"]["top1"], low_high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="smote")
    parser.add_argument("--every", type=int, default=5, help="the network's subset: every N-th row of each split")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(machine())
    torch.manual_seed(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ingest(REAL, root / "fer2013", IngestParams(), args.seed)
        dataset = load_dataset(root / "fer2013")
        started = time.perf_counter()
        honest, leaky = honest_and_leaky(dataset, args.variant, args.seed)
        print(
            f"{args.variant} built both ways on all {sum(map(len, dataset.values()))} rows "
            f"in {time.perf_counter() - started:.0f} s"
        )
        shared = int(sharing_a_source(leaky["test"], leaky["train"]).sum())
        print(f"leaky test rows sharing a source image with a training row: {shared} of {len(leaky['test'])}")
        both = {"honest": honest, "leaky": leaky}
        nearest = {name: nearest_neighbour_correct(data).mean() for name, data in both.items()}
        subset = {name: split.take(np.arange(0, len(split), args.every)) for name, split in dataset.items()}
        honest_sub, leaky_sub = honest_and_leaky(subset, args.variant, args.seed)
        network = {
            name: network_top1(data, root / name, args.epochs, args.seed)
            for name, data in (("honest", honest_sub), ("leaky", leaky_sub))
        }
    print(
        f"\n| run | 1-NN test top-1 (all rows) | network test top-1 (every {args.every}th row, "
        f"cpu-smoke, {args.epochs} epochs) |"
    )
    print("| --- | ---: | ---: |")
    for name in ("honest", "leaky"):
        top1, (low, high) = network[name]
        print(f"| {name} | {100 * nearest[name]:.1f} | {100 * top1:.1f} [{100 * low:.1f}, {100 * high:.1f}] |")
    print(
        f"inflation: 1-NN {100 * (nearest['leaky'] - nearest['honest']):+.1f} points, "
        f"network {100 * (network['leaky'][0] - network['honest'][0]):+.1f} points"
    )


if __name__ == "__main__":
    main()
