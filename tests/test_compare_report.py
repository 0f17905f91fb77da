"""The comparison report from predictions of known quality: intervals, markers exactly where a difference's
interval excludes zero, the group tied with the best, and a verdict that says so."""

import re

import numpy as np

from apps.compare import add_uncertainty, compare_markdown, leak_intervals
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
    uncertainty = add_uncertainty(rows, predicted, predicted, labels, seed=0, baseline="none")  # one seed each
    report = {"rows": rows, "leakdemo": {}} | uncertainty
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


def _leak(honest: float, leaky: float, honest_nn: float, leaky_nn: float) -> dict:
    def run(top1: float, nearest: float) -> dict:
        return {
            "how": "-",
            "train_rows": 1,
            "test_top1": top1,
            "test_macro_f1": 0.5,
            "nearest_neighbour_test_top1": nearest,
        }

    return {
        "enabled": True,
        "variant": "smote",
        "honest": run(honest, honest_nn),
        "leaky": run(leaky, leaky_nn),
        "inflation_points": {
            "top1": round(100 * (leaky - honest), 2),
            "macro_f1": 0.0,
            "nearest_neighbour_top1": round(100 * (leaky_nn - honest_nn), 2),
        },
        "leaky_test_rows": 600,
        "leaky_test_rows_sharing_a_source_with_train": 300,
        "leaky_test_synthetic_rows": 100,
        "leaky_test_top1_by_rows": {
            "sharing_a_source_with_train": {"rows": 300, "network": leaky + 0.05, "nearest_neighbour": 0.95},
            "the_rest": {"rows": 300, "network": leaky - 0.05, "nearest_neighbour": 0.35},
        },
    }


def test_the_leak_gets_intervals_that_exclude_zero_only_for_a_real_inflation():
    leak = leak_intervals(_leak(0.70, 0.71, 0.20, 0.65), honest_images=1000, seed=0)
    ci = leak["intervals"]
    for run, key in (("honest", "test_top1"), ("leaky", "nearest_neighbour_test_top1")):
        low, high = ci[f"{run}_{key}"]
        assert low < leak[run][key] < high
    network, nearest = ci["inflation_top1_points"], ci["inflation_nearest_neighbour_top1_points"]
    assert network[0] < 1 < network[1] and network[0] < 0  # one point on 600 and 1000 images: noise
    assert 38 < nearest[0] < 45 < nearest[1] < 52  # 45 points: far from zero
    markdown = "\n".join(compare_markdown({"rows": [], "leakdemo": leak}).splitlines()[-10:])
    assert "by **+1.0 [" in markdown and "by **+45.0 [" in markdown
    low, high = ci["shared_minus_rest_nearest_neighbour_points"]
    assert 50 < low < 60 < high < 70 and "**+10.0 [" in markdown  # the network: 10 points on 300 + 300 rows
    assert leak_intervals({"enabled": False}, 1000, 0) == {"enabled": False}
