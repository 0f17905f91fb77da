"""Benchmark: crop + gray + 48x48 resize of face boxes in 640x480 JPEG photos (ExpW/AffectNet style), with
ferdata's threaded decoder on one core and on all cores, against a plain per-image PIL loop, at two sizes to
show that memory stays flat as the count grows.

Usage: python benchmarks/decode.py [COUNT ...]   (default: 1000 10000)
Goals: all cores >= 1.8x one core on 2 cores; peak memory flat from 1k to 10k images.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from _measure import machine, measure
from ferdata.sources.images import decode_many

BOX = (200, 120, 440, 360)  # left, top, right, bottom: a 240x240 face in a 640x480 photo


def write_photos(folder: Path, count: int) -> list[Path]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    paths = []
    for index in range(count):
        path = folder / f"{index:06d}.jpg"
        Image.fromarray(np.roll(base, index, axis=1)).save(path, quality=90)
        paths.append(path)
    return paths


def pil_loop(paths: list[Path]) -> int:
    faces = []
    for path in paths:
        with Image.open(path) as image:
            faces.append(np.asarray(image.crop(BOX).convert("L").resize((48, 48), Image.Resampling.LANCZOS)))
    return len(np.stack(faces))


def ferdata_decode(paths: list[Path], workers: int) -> int:
    images, failures = decode_many(paths, [BOX] * len(paths), workers=workers)
    assert not failures
    return len(images)


def main() -> None:
    print(machine())
    counts = [int(c) for c in sys.argv[1:]] or [1000, 10000]
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as scratch:
        paths = write_photos(Path(scratch), max(counts))
        print(f"{'images':>7} {'method':28} {'images/s':>9} {'peak MiB':>9} {'vs PIL loop':>12}")
        for count in counts:
            subset = paths[:count]
            loop_seconds, loop_mib, _ = measure(pil_loop, subset)
            rows = [("per-image PIL loop", loop_seconds, loop_mib)]
            for workers, name in ((1, "ferdata, 1 core"), (cores, f"ferdata, {cores} cores")):
                seconds, mib, _ = measure(ferdata_decode, subset, workers)
                rows.append((name, seconds, mib))
            for name, seconds, mib in rows:
                print(f"{count:7} {name:28} {count / seconds:9.0f} {mib:9.0f} {loop_seconds / seconds:11.2f}x")
            print(f"{count:7} all cores vs 1 core: {rows[1][1] / rows[2][1]:.2f}x")


if __name__ == "__main__":
    main()
