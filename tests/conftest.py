"""Shared fixtures: small fake FER data in the real on-disk formats, and a real CLI runner."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ferdata.labels import CLASS_NAMES
from ferdata.synth import synthesize

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def faces() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """280 synthetic faces with labels and FER2013 usage, every class in every usage."""
    return synthesize(280, seed=1)


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real `ferdata` command line in a subprocess."""
    command = [sys.executable, "-m", "ferdata", *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def write_folder_layout(
    root: Path, images: np.ndarray, labels: np.ndarray, split_dirs: np.ndarray, names: list[str], suffix: str = ".png"
) -> None:
    """Write images as root/<split>/<class name>/<name><suffix>, the Kaggle FER2013 layout."""
    for image, label, split, name in zip(images, labels, split_dirs, names, strict=True):
        folder = root / split / CLASS_NAMES[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{name}{suffix}")


@pytest.fixture(scope="session")
def ingested(tmp_path_factory, faces) -> Path:
    """A small ingested dataset (official FER2013 usages) to build variants from."""
    from ferdata.ingest import ingest
    from ferdata.params import IngestParams
    from ferdata.sources.fer2013_csv import write_fer2013_csv

    root = tmp_path_factory.mktemp("ingested")
    images, labels, usage = synthesize(700, seed=2)
    write_fer2013_csv(root / "fer.csv", images, labels, usage)
    ingest(root / "fer.csv", root / "dataset", IngestParams(), seed=0)
    return root / "dataset"


@pytest.fixture(scope="session")
def checkpoint(ingested, tmp_path_factory) -> Path:
    """A small VGGNet trained for two epochs on `ingested`: its best.pt."""
    from trainer.config import TrainConfig
    from trainer.fit import fit

    out = tmp_path_factory.mktemp("model")
    config = TrainConfig(width=0.125, epochs=2, batch_size=64, lr=0.02, ten_crop=False, channels_last=False)
    fit(ingested, out, config, seed=0, device_name="cpu")
    return out / "best.pt"
