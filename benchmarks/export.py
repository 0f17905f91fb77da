"""Benchmark: `ferdata export` of the real FER2013 (35,887 images) to each format, against the obvious baseline
for the PNG folders in the same run: a per-image loop that saves each PNG on one thread.

Usage: python benchmarks/export.py [CSV]   (default: ../shared/data/fer2013.csv.gz, else synthetic faces)
"""

import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from _measure import machine
from ferdata.dataset import load
from ferdata.export import export
from ferdata.ingest import ingest
from ferdata.sections.ingest import IngestParams
from ferdata.sources.fer2013_csv import write_fer2013_csv
from ferdata.synth import synthesize

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013.csv.gz"


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def png_loop(dataset_dir: Path, out: Path) -> None:
    data = load(dataset_dir)
    for name in ("train", "val", "test"):
        split = data.split(name)
        for index, image in enumerate(split.images):
            folder = out / name / data.class_names[split.labels[index]]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{index}.png")


def main() -> None:
    print(machine())
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        source = Path(sys.argv[1]) if len(sys.argv) > 1 else REAL
        if not source.exists():
            source = work / "synthetic.csv"
            write_fer2013_csv(source, *synthesize(35887, seed=0))
        ingest(source, work / "data", IngestParams(), seed=0)
        images = sum(len(load(work / "data").split(name)) for name in ("train", "val", "test"))
        print(f"input: {source} ({images} images)")
        print(f"{'export':34} {'seconds':>8} {'images/s':>9}")
        loop = timed(png_loop, work / "data", work / "loop")
        print(f"{'PNG folders, per-image loop':34} {loop:8.2f} {images / loop:9,.0f}")
        for to in ("imagefolder", "csv", "hf"):
            seconds = timed(export, work / "data", to, work / f"out-{to}")
            print(f"{'ferdata export --to ' + to:34} {seconds:8.2f} {images / seconds:9,.0f}")
            if to == "imagefolder":
                print(f"imagefolder / per-image loop: {loop / seconds:.2f}x faster")


if __name__ == "__main__":
    main()
