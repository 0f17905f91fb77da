"""Benchmark: parse a FER2013-size CSV to uint8 images with ferdata, against pandas alone and against the
per-row `np.array(row.split(), dtype=float)` loop of the student reports, in one run; then the whole
`ferdata ingest` command against a fresh `python -c "pd.read_csv(...)"`, and `ferdata --help`, each a new process.

Usage: python benchmarks/ingest.py [CSV]   (default: ../shared/data/fer2013.csv.gz, else a synthetic one)
Goals: ferdata's parse <= 1.2x `pd.read_csv` alone, >= 5x faster than the per-row loop; the whole command
<= 2x a fresh process's `pd.read_csv`; `ferdata --help` <= 0.5 s.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _measure import machine, measure
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


def best_wall_seconds(command: list[str], repeats: int = 3) -> float:
    """The fastest of `repeats` runs of a command, start-up and imports included."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def whole_commands(path: Path, scratch: Path) -> None:
    ferdata = [sys.executable, "-m", "ferdata"]
    reading = best_wall_seconds([sys.executable, "-c", "import sys, pandas; pandas.read_csv(sys.argv[1])", str(path)])
    ingest = best_wall_seconds([*ferdata, "ingest", str(path), "--out", str(scratch / "ds"), "--force"])
    help_time = best_wall_seconds([*ferdata, "--help"])
    print(f"{'whole command, new process':38} {'seconds':>8}")
    print(f"{'python -c pandas.read_csv(CSV)':38} {reading:8.2f}")
    print(f"{'ferdata ingest CSV --out DIR':38} {ingest:8.2f}")
    print(f"{'ferdata --help':38} {help_time:8.2f}")
    print(f"ferdata ingest / pandas.read_csv, whole processes: {ingest / reading:.2f}x (goal <= 2x)")
    print(f"ferdata --help: {help_time:.2f} s (goal <= 0.5 s)")


def main() -> None:
    print(machine())
    with tempfile.TemporaryDirectory() as scratch:
        if len(sys.argv) > 1:
            path = Path(sys.argv[1])
        elif REAL.exists():
            path = REAL
        else:
            path = Path(scratch) / "fer2013-size.csv"
            write_fer2013_csv(path, *synthesize(35887, seed=0))
        print(f"input: {path} ({path.stat().st_size / 2**20:.0f} MiB on disk)")
        whole_commands(path, Path(scratch))
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
