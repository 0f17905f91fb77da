"""The comparison of variants: one row per trained variant (and per ensemble) scored on the same test split,
as JSON, a Markdown table, a bar chart of the scores and a per-class recall heatmap, plus the leakage
demonstration side by side. Everything here is deterministic: training times are measured by the pipeline
(reports/timings/) and kept out of these files so their bytes follow the data only.
"""

import json
from pathlib import Path

import numpy as np

from ferdata.card import write_json
from ferdata.errors import FerdataError
from ferdata.labels import CLASS_NAMES
from ferdata.outputs import atomic_file
from ferdata.plots import plt, save_figure
from trainer.ensemble import ensemble

SCORES = ("top1", "top2", "top3", "macro_f1")


def compare(variants: list[str], models: Path, ensembles: dict[str, list[str]], data: Path, leak: dict) -> dict:
    """Rows for `variants` (from MODELS/<variant>/metrics.json) and for each ensemble (scored on `data`)."""
    rows, test_hashes = [], set()
    for variant in variants:
        path = models / variant / "metrics.json"
        if not path.is_file():
            raise FerdataError(f"{path}: no metrics (train the variant first: dvc repro train@{variant})")
        metrics = json.loads(path.read_text())
        test_hashes.add(metrics["test_sha256"])
        rows.append(_row(variant, metrics["test"], metrics["train_rows"], metrics["epochs_run"]))
    if len(test_hashes) > 1:
        raise FerdataError("the variants were scored on different test splits; rebuild them from one dataset")
    for name, members in ensembles.items():
        scored = ensemble([models / member / "best.pt" for member in members], data)
        rows.append(_row(name, scored["test"], None, None))
    return {"test_split_sha256": test_hashes.pop() if test_hashes else None, "rows": rows, "leakdemo": leak}


def _row(name: str, test: dict, train_rows: int | None, epochs: int | None) -> dict:
    return {
        "name": name,
        "train_rows": train_rows,
        "epochs": epochs,
        **{key: round(test[key], 4) for key in SCORES},
        "recall": {label: round(test["per_class"][label]["recall"], 4) for label in CLASS_NAMES},
    }


def compare_markdown(report: dict) -> str:
    """The table a person reads, best top-1 first, and the leakage demonstration under it."""
    rows = sorted(report["rows"], key=lambda row: -row["top1"])
    short = [name[:3] for name in CLASS_NAMES]
    lines = [
        "# Variants compared on one test split",
        "",
        "Scores on the test split every variant shares (val and test are never resampled). "
        "Recall per class in the last columns. Ensembles average their members' softmax.",
        "",
        "| variant | train rows | top-1 | top-2 | top-3 | macro-F1 | " + " | ".join(short) + " |",
        "| --- | ---: | ---: | ---: | ---: | ---: |" + " ---: |" * len(short),
    ]
    for row in rows:
        size = "-" if row["train_rows"] is None else str(row["train_rows"])
        scores = " | ".join(f"{100 * row[key]:.1f}" for key in ("top1", "top2", "top3"))
        recall = " | ".join(f"{100 * row['recall'][label]:.0f}" for label in CLASS_NAMES)
        lines.append(f"| {row['name']} | {size} | {scores} | {row['macro_f1']:.3f} | {recall} |")
    lines += ["", "![scores](compare_scores.png)", "", "![recall per class](compare_recall.png)", ""]
    leak = report["leakdemo"]
    if leak.get("enabled"):
        honest, leaky, inflation = leak["honest"], leak["leaky"], leak["inflation_points"]
        lines += [
            f"## Leakage demonstration ({leak['variant']})",
            "",
            "| run | train rows | test top-1 | test macro-F1 | 1-NN test top-1 |",
            "| --- | ---: | ---: | ---: | ---: |",
            *[
                f"| {run['how']} | {run['train_rows']} | {100 * run['test_top1']:.1f} | {run['test_macro_f1']:.3f} "
                f"| {100 * run['nearest_neighbour_test_top1']:.1f} |"
                for run in (honest, leaky)
            ],
            "",
            f"Resampling before splitting changes the network's test top-1 by {inflation['top1']:+.1f} points "
            f"(macro-F1 {inflation['macro_f1']:+.1f}) and a 1-nearest-neighbour classifier's, which memorises its "
            f"training set, by **{inflation['nearest_neighbour_top1']:+.1f} points**: the more a model memorises, "
            f"the more the leak inflates its score. {leak['leaky_test_rows_sharing_a_source_with_train']} of the "
            f"leaky test split's {leak['leaky_test_rows']} rows share a source image with a training row, and "
            f"{leak['leaky_test_synthetic_rows']} are synthetic: "
            "that test set measures memory, not generalisation.",
            "",
        ]
    return "\n".join(lines)


def scores_png(rows: list[dict], path: Path) -> None:
    """Grouped bars: top-1, top-3 and macro-F1 per variant."""
    figure, axes = plt.subplots(figsize=(max(6, 0.9 * len(rows)), 4), dpi=100)
    x = np.arange(len(rows))
    bars = (("top1", "top-1"), ("top3", "top-3"), ("macro_f1", "macro-F1"))
    for offset, (key, label) in zip((-0.27, 0, 0.27), bars, strict=True):
        axes.bar(x + offset, [row[key] for row in rows], 0.27, label=label)
    axes.set_xticks(x, [row["name"] for row in rows], rotation=30, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("test score")
    axes.legend(loc="lower right")
    figure.tight_layout()
    save_figure(figure, path)


def recall_png(rows: list[dict], path: Path) -> None:
    """Heatmap: recall of each class (columns) for each variant (rows)."""
    values = np.array([[row["recall"][label] for label in CLASS_NAMES] for row in rows])
    figure, axes = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.5), dpi=100)
    axes.imshow(values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    axes.set_xticks(range(len(CLASS_NAMES)), CLASS_NAMES)
    axes.set_yticks(range(len(rows)), [row["name"] for row in rows])
    for (i, j), value in np.ndenumerate(values):
        axes.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8, color="white" if value < 0.6 else "black")
    axes.set_title("test recall per class")
    figure.tight_layout()
    save_figure(figure, path)


def write_comparison(report: dict, out: Path) -> None:
    """OUT/compare.json, compare.md, compare_scores.png, compare_recall.png."""
    write_json(out / "compare.json", report)
    with atomic_file(out / "compare.md") as tmp:
        tmp.write_text(compare_markdown(report))
    scores_png(report["rows"], out / "compare_scores.png")
    recall_png(report["rows"], out / "compare_recall.png")
