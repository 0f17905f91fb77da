import json

import numpy as np
import pytest

from conftest import run_cli
from ferdata.ingest import ingest
from ferdata.sections.ingest import IngestParams
from ferdata.sources.fer2013_csv import write_fer2013_csv
from ferdata.store import SPLITS, load_dataset


@pytest.fixture
def fer_csv(tmp_path, faces):
    path = tmp_path / "fer2013.csv"
    write_fer2013_csv(path, *faces)
    return path


def test_official_roles_and_their_swap(tmp_path, fer_csv, faces):
    _, labels, usage = faces
    default = ingest(fer_csv, tmp_path / "a", IngestParams(), seed=0)
    swapped = ingest(fer_csv, tmp_path / "b", IngestParams(swap_test_roles=True), seed=0)
    counts = {u: np.bincount(labels[usage == u], minlength=7).tolist() for u in set(usage)}
    assert default["counts"] == {
        "train": counts["Training"],
        "val": counts["PrivateTest"],
        "test": counts["PublicTest"],
    }
    assert swapped["counts"]["val"] == counts["PublicTest"] and swapped["counts"]["test"] == counts["PrivateTest"]
    dataset = load_dataset(tmp_path / "a")
    assert dataset["train"].ids[0] == "fer2013:Training:0"
    assert all(i.startswith("fer2013:PrivateTest:") for i in dataset["val"].ids)


def test_train_csv_is_split_stratified_and_seeded(tmp_path, faces):
    images, labels, _ = faces
    path = tmp_path / "train.csv"
    write_fer2013_csv(path, images, labels, None)
    card = ingest(path, tmp_path / "out", IngestParams(), seed=0)
    totals = {name: sum(card["counts"][name]) for name in SPLITS}
    assert totals == {"train": 226, "val": 26, "test": 28}
    assert card["split_sources"]["test"] == {"stratified 0.1 of train, seed 0": 28}
    dataset = load_dataset(tmp_path / "out")
    all_ids = np.concatenate([dataset[n].ids for n in SPLITS])
    assert len(set(all_ids)) == len(labels)  # a partition: no row in two splits
    per_class = np.bincount(labels, minlength=7)
    for name in ("val", "test"):  # stratified: every class in proportion, to within one row
        share = totals[name] / len(labels)
        assert np.abs(np.bincount(dataset[name].labels, minlength=7) - share * per_class).max() <= 1


def test_two_runs_give_byte_identical_outputs(tmp_path, fer_csv):
    for out in ("a", "b"):
        assert run_cli("ingest", fer_csv, "--out", tmp_path / out, "--seed", 5, "--dedupe").returncode == 0
    for name in ("train.npz", "val.npz", "test.npz", "card.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_dedupe_removes_train_images_seen_in_val_or_test(tmp_path, faces):
    images, labels, usage = (a.copy() for a in faces)
    test_rows = np.flatnonzero(usage == "PublicTest")
    train_rows = np.flatnonzero(usage == "Training")
    images[train_rows[:3]] = images[test_rows[:3]]  # three leaked copies
    path = tmp_path / "leaky.csv"
    write_fer2013_csv(path, images, labels, usage)
    kept = ingest(path, tmp_path / "kept", IngestParams(), seed=0)
    deduped = ingest(path, tmp_path / "deduped", IngestParams(dedupe=True), seed=0)
    assert kept["dedupe"] is None
    assert deduped["dedupe"]["removed_from_train"] == 3
    assert deduped["dedupe"]["removed_ids"] == [f"fer2013:Training:{r}" for r in train_rows[:3]]
    assert sum(deduped["counts"]["train"]) == sum(kept["counts"]["train"]) - 3


def test_card_records_source_params_and_versions(tmp_path, fer_csv):
    ingest(fer_csv, tmp_path / "out", IngestParams(), seed=0)
    card = json.loads((tmp_path / "out" / "card.json").read_text())
    assert card["source"]["format"] == "fer2013-csv" and len(card["source"]["sha256"]) == 64
    assert card["params"]["val_fraction"] == 0.1 and card["seed"] == 0
    assert {"numpy", "pyarrow", "python", "ferdata"} <= set(card["versions"])
    assert card["split_sources"]["train"] == {"Usage=Training": sum(card["counts"]["train"])}


def test_failed_ingest_keeps_the_previous_output(tmp_path, fer_csv):
    ingest(fer_csv, tmp_path / "out", IngestParams(), seed=0)
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    fer_csv.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    result = run_cli("ingest", fer_csv, "--out", tmp_path / "out")
    assert result.returncode == 1 and "has 3 pixel values, expected 2304" in result.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fer2013.csv", "out"]
