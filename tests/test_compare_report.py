"""The comparison report from predictions of known quality: intervals, markers exactly where a difference's
interval excludes zero, the group tied with the best, and a verdict that says so."""

import re

import numpy as np

from apps.compare import add_uncertainty, compare_markdown
from ferdata.labels import CLASS_NAMES


def _row(name: str, predicted: np.ndarray, labels: np.ndarray) -> dict:
    recall = {c: float((predicted[labels == i] == i).mean()) for i, c in enumerate(CLASS_NAMES)}
    top1 = float((predicted == labels).mean())
    return {"name": name, "train_rows": 100, "epochs": 1, "top1": top1, "top2": top1, "top3": top1, "macro_f1": 0.5,
            "recall": recall}  # fmt: skip


def _predictions(labels: np.ndarray, accuracy: float, rng) -> np.ndarray:
    wrong = rng.random(len(labels)) > accuracy
    return np.where(wrong, (labels + 1 + rng.integers(0, 6, len(labels))) % 7, labels)


def test_markers_intervals_groups_and_verdict():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 7, 1200)
    predicted = {
        "none": _predictions(labels, 0.60, rng),
        "good": _predictions(labels, 0.75, rng),
        "also_good": _predictions(labels, 0.745, rng),
        "bad": _predictions(labels, 0.40, rng),
        "noise": _predictions(labels, 0.61, rng),
    }
    rows = [_row(name, p, labels) for name, p in predicted.items()]
    report = {"rows": rows, "leakdemo": {}} | add_uncertainty(rows, predicted, labels, seed=0, baseline="none")
    by_name = {row["name"]: row for row in rows}
    assert by_name["none"]["vs_baseline"] is None
    assert by_name["good"]["vs_baseline"]["significant"] and by_name["bad"]["vs_baseline"]["significant"]
    assert not by_name["noise"]["vs_baseline"]["significant"]
    assert by_name["good"]["tied_with_best"] and by_name["also_good"]["tied_with_best"]
    assert not by_name["noise"]["tied_with_best"]
    for row in rows:
        low, high = row["top1_ci"]
        assert low < row["top1"] < high and high - low < 0.07  # ~±2.7 points at n = 1200

    markdown = compare_markdown(report)
    for row in rows:
        line = next(line for line in markdown.splitlines() if re.match(rf"\| {row['name']}( ≈)? \|", line))
        marked = "▲" in line or "▼" in line
        versus = row["vs_baseline"]
        assert marked == (versus is not None and (versus["ci"][0] > 0 or versus["ci"][1] < 0)), line
    assert "Beat none by" in report["verdict"] and "good" in report["verdict"]
    assert "Lose to none by" in report["verdict"] and "bad" in report["verdict"]
    assert "Within noise of none: noise." in report["verdict"]
