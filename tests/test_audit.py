import json

import numpy as np

from conftest import run_cli
from ferdata.audit import audit_dataset, difference_hash
from ferdata.sections.audit import AuditParams
from ferdata.store import Split, save_split


def _split(images, labels, prefix):
    return Split.from_source(images, np.asarray(labels), np.array([f"{prefix}:{i}" for i in range(len(labels))]))


def _planted(faces):
    """Train/val/test built from distinct faces, with known duplicates planted."""
    images, labels, _ = faces
    train_images, train_labels = images[:60].copy(), labels[:60].copy()
    val_images, val_labels = images[60:80].copy(), labels[60:80].copy()
    test_images, test_labels = images[80:100].copy(), labels[80:100].copy()
    train_images[1] = train_images[0]  # exact, within train, same label
    train_labels[1] = train_labels[0]
    val_images[0] = train_images[5]  # exact, train~val, conflicting label
    val_labels[0] = (train_labels[5] + 1) % 7
    brighter = np.clip(test_images[3].astype(int) + 12, 0, 255).astype(np.uint8)
    train_images[10] = brighter  # near duplicate of a test image: brightness shifted
    train_images[20] = 0  # blank
    train_images[21] = np.where(np.arange(48 * 48).reshape(48, 48) % 2, 100, 101).astype(np.uint8)  # near-constant
    return {
        "train": _split(train_images, train_labels, "train"),
        "val": _split(val_images, val_labels, "val"),
        "test": _split(test_images, test_labels, "test"),
    }


def test_finds_every_planted_problem(faces):
    report = audit_dataset(_planted(faces), AuditParams())
    summary = report["summary"]
    assert summary["exact_duplicate_groups"] == 2 and summary["exact_duplicate_rows"] == 4
    assert summary["exact_groups_by_splits"]["train"] == 1 and summary["exact_groups_by_splits"]["train~val"] == 1
    assert summary["exact_conflicting_label_groups"] == 1
    assert summary["train_rows_also_in_val_or_test"] == 1
    assert report["blank"] == ["train:20"] and report["near_constant"] == ["train:21"]
    near = [sorted(g["ids"]) for g in report["near_groups"]]
    assert ["test:3", "train:10"] in near
    assert summary["near_groups_by_splits"]["train~test"] >= 1


def test_distinct_faces_are_not_flagged(faces):
    images, labels, _ = faces
    report = audit_dataset({"train": _split(images[:100], labels[:100], "t")}, AuditParams())
    assert report["summary"]["exact_duplicate_groups"] == 0
    assert report["blank"] == [] and report["near_constant"] == []


def test_difference_hash_survives_brightness_and_contrast(faces):
    image = faces[0][0].astype(np.float32)
    variants = np.stack([image, image * 0.8 + 20, np.clip(image * 1.1, 0, 255)]).astype(np.uint8)
    hashes = difference_hash(variants)
    assert hashes[0] == hashes[1] == hashes[2]
    assert difference_hash(faces[0][1:2])[0] != hashes[0]


def test_cli_prints_a_table_and_writes_the_report(tmp_path, faces):
    for name, split in _planted(faces).items():
        save_split(split, tmp_path / f"{name}.npz")
    result = run_cli("audit", tmp_path, "--out", tmp_path / "report.json")
    assert result.returncode == 0, result.stderr
    assert "exact conflicting label groups" in result.stdout
    assert json.loads((tmp_path / "report.json").read_text())["summary"]["blank_images"] == 1
