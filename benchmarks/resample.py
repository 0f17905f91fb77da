"""Benchmark: SMOTE, SMOTETomek and SMOTEENN with imbalanced-learn's default neighbour search against
ferdata's exact searches, on FER2013's training split, in one run; and albumentations augmentation throughput
on one core.

ferdata's rows: `auto` (the default; on a CPU, the sketch search, whose products are float32 on every CPU) and
brute force (`torch`) with the product kernel this CPU picks (int8 where it has VNNI, float32 elsewhere);
`--all-kernels` adds brute force with each kernel forced (float32 brute force takes minutes here). To see what
a CPU with AVX2 and no AVX-512 runs, prefix `benchmarks/avx2.sh`.

Usage: python benchmarks/resample.py [--quick] [--all-kernels] [smote] [smotetomek] [smoteenn] [augment]
(default: all)
Input: the Training rows of ../shared/data/fer2013.csv.gz when it exists, else synthetic faces with
FER2013's train class counts (28,709 x 2304). --quick uses a 5,000-row subsample.
"class diff" is the largest per-class relative difference from the default's final counts, "rows diff" the
relative difference of the totals; imblearn's default gets the random_state ferdata's SMOTE step uses.
Goals: SMOTETomek and SMOTEENN >= 10x faster than the imblearn default with final class counts equal (ferdata's
searches break ties between equidistant rows by row number, scikit-learn its own way);
SMOTE no slower and no more memory than imblearn; augmentation >= 5,000 images/s on one core.
"""

import sys
import time
from pathlib import Path

import numpy as np

from _measure import machine, measure
from ferdata.sources.fer2013_csv import read_fer2013_csv
from ferdata.store import Split
from ferdata.synth import synthesize
from ferdata.variants.base import NeighborParams, seed_of
from ferdata.variants.registry import VariantParams, variant_steps

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013.csv.gz"
FER_TRAIN_COUNTS = [3995, 436, 4097, 7215, 4830, 3171, 4965]


def load_train(quick: bool) -> Split:
    if REAL.exists():
        rows = read_fer2013_csv(REAL)
        keep = rows.usage == "Training"
        images, labels = rows.images[keep], rows.labels[keep]
    else:
        images, labels, _ = synthesize(40000, seed=0)
        order = np.concatenate([np.flatnonzero(labels == c)[:n] for c, n in enumerate(FER_TRAIN_COUNTS)])
        images, labels = images[order], labels[order]
    if quick:
        pick = np.random.default_rng(0).choice(len(labels), 5000, replace=False)
        images, labels = images[np.sort(pick)], labels[np.sort(pick)]
    return Split.from_source(images, labels, np.array([f"train:{i}" for i in range(len(labels))]))


def imblearn_default(method: str, train: Split) -> list[int]:
    from imblearn.combine import SMOTEENN, SMOTETomek
    from imblearn.over_sampling import SMOTE

    # The random_state ferdata's first step draws from seed 0: only the neighbour search differs.
    random_state = seed_of(np.random.default_rng(0))
    sampler = {"smote": SMOTE, "smotetomek": SMOTETomek, "smoteenn": SMOTEENN}[method](random_state=random_state)
    _, labels = sampler.fit_resample(train.images.reshape(len(train), -1).astype(np.float32), train.labels)
    return np.bincount(labels, minlength=7).tolist()


def ferdata_variant(method: str, backend: str, kernel: str, train: Split) -> list[int]:
    rng = np.random.default_rng(0)
    for step in variant_steps(VariantParams(steps=[method]), NeighborParams(backend=backend, kernel=kernel)):
        train = step.fit_resample(train, rng)
    return train.class_counts()


def boundary_ties(method: str, train: Split) -> int:
    """Rows of the SMOTE output whose k nearest (themselves included) are not unique: a tie at the k-th
    distance. Only there may two exact searches, each breaking ties its own way, clean different rows."""
    from ferdata.neighbors import Neighbors

    k = {"smotetomek": 2, "smoteenn": 4}[method]  # Tomek links: the nearest other row; ENN: 3 of them
    (smote,) = variant_steps(VariantParams(steps=["smote"]), NeighborParams())
    rows = smote.fit_resample(train, np.random.default_rng(0)).images.reshape(-1, 48 * 48)
    distances, _ = Neighbors(k + 1).fit(rows).kneighbors(rows)
    return int((distances[:, k - 1] == distances[:, k]).sum())


def warm_compiled_kernels() -> None:
    """numba compiles the sketch search's kernels on their first use after an install or a change, and caches
    them: compile them here, once, so that each timed process loads them as a user's every later run does."""
    from ferdata.neighbors import Neighbors

    pixels = np.random.default_rng(0).integers(0, 256, (600, 64), dtype=np.uint8)
    search = Neighbors(5, backend="sketch").fit(pixels)
    search.kneighbors(pixels)
    search.kneighbors(pixels[:100].copy())


def augmentation_rate(train: Split, n_images: int) -> float:
    import cv2
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    subset = train.take(np.arange(n_images) % len(train))
    spec = VariantParams(steps=["augment"], augment={"mode": "multiply", "multiplier": 2.0})
    (step,) = variant_steps(spec, NeighborParams())
    step.fit_resample(subset.take(np.arange(100)), np.random.default_rng(0))  # imports: not throughput
    start = time.perf_counter()
    step.fit_resample(subset, np.random.default_rng(0))
    return n_images / (time.perf_counter() - start)


def main() -> None:
    print(machine())
    from ferdata.brute import pixel_kernel

    picked = pixel_kernel("auto")
    print(f"brute force's product kernel here: {picked} (auto's sketch search multiplies in float32 everywhere)")
    warm_compiled_kernels()
    quick = "--quick" in sys.argv
    train = load_train(quick)
    print(f"input: {len(train)} training images, class counts {train.class_counts()}")
    columns = f"{'seconds':>8} {'peak MiB':>9} {'speed-up':>8} {'class diff':>10} {'rows diff':>9}"
    print(f"{'method':12} {'search':22} {columns}  counts after")
    every = ("smote", "smotetomek", "smoteenn", "augment")
    methods = [m for m in every if m in sys.argv] or every
    for method in (m for m in methods if m != "augment"):
        base_time, base_peak, base_counts = measure(imblearn_default, method, train)
        rows = [("imblearn default", base_time, base_peak, base_counts)]
        kernels = ("int8", "float32") if "--all-kernels" in sys.argv else (picked,)
        for backend, kernel in (("auto", "auto"), *(("torch", kernel) for kernel in kernels)):
            label = "ferdata auto" if backend == "auto" else f"ferdata torch {kernel}"
            seconds, peak, counts = measure(ferdata_variant, method, backend, kernel, train)
            rows.append((label, seconds, peak, counts))
        for label, seconds, peak, counts in rows:
            diff = max(abs(a - b) / max(b, 1) for a, b in zip(counts, base_counts, strict=True))
            rows_diff = abs(sum(counts) - sum(base_counts)) / sum(base_counts)
            print(
                f"{method:12} {label:22} {seconds:8.1f} {peak:9.0f} {base_time / seconds:7.1f}x "
                f"{diff:10.2%} {rows_diff:9.2%}  {counts}"
            )
        if method != "smote":
            ties = boundary_ties(method, train)
            print(f"{method}: {ties} rows have a tie at the k-th nearest (where searches may differ)")
    if "augment" in methods:
        rate = measure(augmentation_rate, train, 2000 if quick else 10000)[2]
        print(f"augmentation (albumentations, one core): {rate:,.0f} images/s (goal >= 5,000)")


if __name__ == "__main__":
    main()
