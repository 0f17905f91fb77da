"""Benchmark: parse a FER2013-size CSV to uint8 images with ferdata, against pandas alone and against the
per-row `np.array(row.split(), dtype=float)` loop of the student reports, in one run.

Usage: python benchmarks/ingest.py [CSV]   (default: ../shared/data/fer2013.csv.gz, else a synthetic one)
Goals: ferdata <= 1.2x `pd.read_csv` alone, >= 5x faster than the per-row loop.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from _measure import measure
from ferdata.sources.fer2013_csv import read_fer2013_csv, write_fer2013_csv
from ferdata.synth import synthesize

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013.csv.gz"


def ferdata_parse(path: Path) -> None:
    read_fer2013_csv(path)


def pandas_alone(path: Path) -> None:
    pd.read_csv(path)


def per_row_loop(path: Path) -> None:
    frame = pd.read_csv(path)
    np.stack([np.array(row.split(), dtype=float) for row in frame["pixels"]]).astype(np.uint8)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        if len(sys.argv) > 1:
            path = Path(sys.argv[1])
        elif REAL.exists():
            path = REAL
        else:
            path = Path(scratch) / "fer2013-size.csv"
            write_fer2013_csv(path, *synthesize(35887, seed=0))
        print(f"input: {path} ({path.stat().st_size / 2**20:.0f} MiB on disk)")
        results = {
            "ferdata (pyarrow + numpy decode)": measure(ferdata_parse, path, repeats=2),
            "pd.read_csv alone (no pixel parse)": measure(pandas_alone, path, repeats=2),
            "per-row np.array(row.split()) loop": measure(per_row_loop, path),
        }
    ours = results["ferdata (pyarrow + numpy decode)"][0]
    print(f"{'method':38} {'seconds':>8} {'peak MiB':>9} {'vs ferdata':>11}")
    for name, (seconds, peak, _) in results.items():
        print(f"{name:38} {seconds:8.2f} {peak:9.0f} {seconds / ours:10.2f}x")
    pandas_time = results["pd.read_csv alone (no pixel parse)"][0]
    loop_time = results["per-row np.array(row.split()) loop"][0]
    print(f"ferdata / pd.read_csv alone: {ours / pandas_time:.2f}x (goal <= 1.2x)")
    print(f"per-row loop / ferdata: {loop_time / ours:.1f}x (goal >= 5x)")


if __name__ == "__main__":
    main()
