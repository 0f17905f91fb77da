"""Shared fixtures: small fake FER data in the real on-disk formats, and a real CLI runner."""

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ferdata.labels import CLASS_NAMES
from ferdata.synth import synthesize

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


@pytest.fixture(scope="session")
def faces() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """280 synthetic faces with labels and FER2013 usage, every class in every usage."""
    return synthesize(280, seed=1)


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real `ferdata` command line in a subprocess."""
    command = [sys.executable, "-m", "ferdata", *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def run_in_process(args: list, cwd: Path) -> tuple[int, str]:
    """`ferdata ARGS` through the real entry point, in this process: (exit status, stderr). Seconds faster than
    `run_cli` where a test only needs the exit and the message."""
    from ferdata.cli import main

    stderr, stdout = io.StringIO(), io.StringIO()
    old_argv, old_cwd = sys.argv, Path.cwd()
    sys.argv = ["ferdata", *map(str, args)]
    os.chdir(cwd)
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout), pytest.raises(SystemExit) as exit:
            main()
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
    return exit.value.code, stderr.getvalue()


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
    from ferdata.sections.ingest import IngestParams
    from ferdata.sources.fer2013_csv import write_fer2013_csv

    root = tmp_path_factory.mktemp("ingested")
    images, labels, usage = synthesize(700, seed=2)
    write_fer2013_csv(root / "fer.csv", images, labels, usage)
    ingest(root / "fer.csv", root / "dataset", IngestParams(), seed=0)
    return root / "dataset"


@pytest.fixture(scope="session")
def learnable(tmp_path_factory, faces) -> Path:
    """A dataset whose class shows in the brightness: the small network learns it within an epoch or two when
    its hyperparameters are good, and not when they are poor."""
    from ferdata.ingest import ingest
    from ferdata.sections.ingest import IngestParams
    from ferdata.sources.fer2013_csv import write_fer2013_csv

    root = tmp_path_factory.mktemp("learnable")
    _, labels, usage = faces
    noise = np.random.default_rng(0).normal(0, 12, (len(labels), 48, 48))
    images = np.clip(40 + 28 * labels[:, None, None] + noise, 0, 255).astype(np.uint8)
    write_fer2013_csv(root / "fer.csv", images, labels, usage)
    ingest(root / "fer.csv", root / "faces", IngestParams(), seed=0)
    return root / "faces"


def tiny_recipe(**changes):
    """A small network trained briefly: what the trainer tests train with."""
    from ferdata.recipe import TrainConfig

    base = TrainConfig(width=0.125, epochs=3, batch_size=16, lr=0.02, ten_crop=False, channels_last=False)
    return base.model_copy(update=changes)


@pytest.fixture(scope="session")
def trained(learnable, tmp_path_factory) -> tuple[Path, dict]:
    """The tiny recipe trained once on `learnable` (seed 0): its folder and metrics, shared by the tests
    that need a trained model rather than a training run."""
    from trainer.loop import fit

    out = tmp_path_factory.mktemp("model")
    return out, fit(learnable, out, tiny_recipe(), seed=0, device_name="cpu")


@pytest.fixture(scope="session")
def checkpoint(trained) -> Path:
    return trained[0] / "best.pt"


# The slowest files start first, so the two workers finish together (longest-first scheduling; with
# `--dist loadfile` xdist hands out files in collection order).
SLOW_FIRST = ("test_pipeline.py", "test_kill.py", "test_tune.py", "test_trainer.py")


def pytest_collection_modifyitems(items: list) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))
