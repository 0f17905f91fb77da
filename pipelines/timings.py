"""Wall-clock seconds of each pipeline stage, kept beside the outputs and never in them.

DVC records no stage times, and a clock must not reach an output (its hash in dvc.lock would change on every
run), so each stage script records its time in reports/timings/STAGE.json (git-ignored).
`python -m pipelines.timings` prints them in the order the stages last ran.
"""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ferdata.card import write_json

TIMINGS = Path("reports/timings")


@contextmanager
def timed(stage: str) -> Iterator[dict]:
    """Times the block; what the block puts in the yielded dict is recorded with the seconds."""
    details: dict = {}
    started = time.perf_counter()
    yield details
    write_json(TIMINGS / f"{stage}.json", {"seconds": round(time.perf_counter() - started, 2), **details})


def main() -> None:
    records = sorted(TIMINGS.glob("*.json"), key=lambda path: path.stat().st_mtime)
    total = 0.0
    for path in records:
        seconds = json.loads(path.read_text())["seconds"]
        total += seconds
        print(f"{path.stem:28} {seconds:8.1f} s")
    print(f"{'all stages':28} {total:8.1f} s")


if __name__ == "__main__":
    main()
