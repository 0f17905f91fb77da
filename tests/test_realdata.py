"""Checks on the real FER2013 in ../shared/data; skipped cleanly where it is absent (a plain fresh clone)."""

import numpy as np
import pytest

from conftest import SHARED_DATA, write_folder_layout
from ferdata.audit import audit_dataset
from ferdata.ingest import ingest
from ferdata.sections.audit import AuditParams
from ferdata.sections.ingest import IngestParams
from ferdata.store import load_dataset

FER2013 = SHARED_DATA / "fer2013.csv.gz"
# FORMATS.md: class counts per usage, labels 0..6.
COUNTS = {
    "train": [3995, 436, 4097, 7215, 4830, 3171, 4965],  # Training
    "val": [491, 55, 528, 879, 594, 416, 626],  # PrivateTest
    "test": [467, 56, 496, 895, 653, 415, 607],  # PublicTest
}

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not FER2013.exists(), reason="real FER2013 not in ../shared/data"),
]


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "fer2013"
    card = ingest(FER2013, out, IngestParams(), seed=0)
    return out, card


def test_real_csv_gives_the_official_splits(real):
    _, card = real
    assert card["counts"] == COUNTS
    assert card["source"]["rows"] == 35887


def test_real_audit_finds_the_known_duplicates(real):
    out, _ = real
    summary = audit_dataset(load_dataset(out), AuditParams())["summary"]
    # The data README: 1,516 groups of identical images (3,369 rows), 557 across usages, 58 conflicting.
    assert summary["exact_duplicate_groups"] == 1516 and summary["exact_duplicate_rows"] == 3369
    assert summary["exact_cross_split_groups"] == 557
    assert summary["exact_conflicting_label_groups"] == 58


def test_real_folder_layout_matches_the_csv(real, tmp_path):
    """Every 8th real image of each split written as Kaggle's folders reads back as the CSV gave it (all
    35,887 as PNGs would take half a minute for no more coverage)."""
    out, _ = real
    dataset = {name: split.take(np.arange(0, len(split), 8)) for name, split in load_dataset(out).items()}
    usage_of = {"train": "Training", "val": "PrivateTest", "test": "PublicTest"}
    images = np.concatenate([dataset[s].images for s in dataset])
    labels = np.concatenate([dataset[s].labels for s in dataset])
    usage = np.concatenate([[usage_of[s]] * len(dataset[s]) for s in dataset])
    folder = np.where(usage == "Training", "train", "test")
    names = [f"{u}_{i}" for i, u in enumerate(usage)]
    write_folder_layout(tmp_path / "fer", images, labels, folder, names)
    card = ingest(tmp_path / "fer", tmp_path / "out", IngestParams(), seed=0)
    assert card["counts"] == {name: split.class_counts() for name, split in dataset.items()}
    back = load_dataset(tmp_path / "out")
    for name in ("train", "val", "test"):
        order = np.argsort([int(i.rsplit("_", 1)[1].split(".")[0]) for i in back[name].ids])
        np.testing.assert_array_equal(back[name].images[order], dataset[name].images)
