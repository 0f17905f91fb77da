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
from trainer import stats
from trainer.ensemble import mean_probabilities
from trainer.metrics import scores

SCORES = ("top1", "top2", "top3", "macro_f1")
CONVERGED_RISE = 0.01  # val top-1 rising more than this over the last fifth of the budget: not converged


def compare(
    variants: list[str],
    models: Path,
    ensembles: dict[str, list[str]],
    data: Path,
    leak: dict,
    seed: int = 0,
    baseline: str = "none",
) -> dict:
    """Rows for `variants` (MODELS/<variant>/metrics.json and best.pt) and for each ensemble, with bootstrap
    intervals over the test images (seeded, the same resamples for every row) and paired tests."""
    rows, probabilities, test_hashes = [], {}, set()
    for variant in variants:
        path = models / variant / "metrics.json"
        if not path.is_file():
            raise FerdataError(f"{path}: no metrics (train the variant first: dvc repro train@{variant})")
        metrics = json.loads(path.read_text())
        test_hashes.add(metrics["test_sha256"])
        rows.append(_row(variant, metrics["test"], metrics["train_rows"], metrics["epochs_run"]) | _budget(metrics))
    if len(test_hashes) > 1:
        raise FerdataError("the variants were scored on different test splits; rebuild them from one dataset")
    if variants and baseline not in variants:
        raise FerdataError(f"compare.baseline: {baseline!r} is not among the trained variants ({', '.join(variants)})")
    for variant in variants:
        probabilities[variant], labels = mean_probabilities([models / variant / "best.pt"], data)["test"]
    for name, members in ensembles.items():  # members are trained variants: their softmax is already here
        probabilities[name] = np.mean([probabilities[member] for member in members], axis=0)
        log_mean = np.log(np.clip(probabilities[name], 1e-12, None))
        rows.append(_row(name, scores(log_mean, labels, 0.0), None, None))
    report = {"test_split_sha256": test_hashes.pop() if test_hashes else None, "rows": rows, "leakdemo": leak}
    if rows:
        predicted = {name: p.argmax(1) for name, p in probabilities.items()}
        report |= add_uncertainty(rows, predicted, labels, seed, baseline)
    return report


def add_uncertainty(
    rows: list[dict], predicted: dict[str, np.ndarray], labels: np.ndarray, seed: int, baseline: str
) -> dict:
    """Each row's 95% intervals, its paired test against the baseline (Holm-corrected) and whether it is
    distinguishable from the best row; returns the report's bootstrap settings and verdict."""
    counts = stats.resample_counts(len(labels), stats.ROUNDS, seed)
    correct = {name: predicted[name] == labels for name in predicted}
    best = max(rows, key=lambda row: row["top1"])["name"]
    versus_best = stats.against_baseline(correct, best, counts)
    versus_base = stats.against_baseline(correct, baseline, counts)
    for row in rows:
        name = row["name"]
        row["top1_ci"] = _rounded(stats.interval(stats.top1_per_round(correct[name], counts)))
        f1 = stats.macro_f1_per_round(labels, predicted[name], counts, len(CLASS_NAMES))
        row["macro_f1_ci"] = _rounded(stats.interval(f1))
        row["vs_baseline"] = _comparison(versus_base[name]) if name in versus_base else None
        row["tied_with_best"] = name == best or not versus_best[name].significant
    settings = {"rounds": stats.ROUNDS, "seed": seed, "level": stats.LEVEL, "test_images": len(labels)}
    return {"bootstrap": settings, "baseline": baseline, "verdict": verdict(rows, baseline)}


def _comparison(result: stats.Comparison) -> dict:
    return {
        "difference": round(result.difference, 4),
        "ci": _rounded((result.low, result.high)),
        "p": round(result.p, 4),
        "p_holm": round(result.p_holm, 4),
        "mcnemar_p": round(result.mcnemar_p, 4),
        "significant": result.significant,
    }


def _rounded(pair: tuple[float, float]) -> list[float]:
    return [round(value, 4) for value in pair]


def verdict(rows: list[dict], baseline: str) -> str:
    """The comparison in plain words: who beats the baseline and by how much, who loses to it, who cannot be
    told apart from it, and which rows cannot be told apart from the best."""
    compared = [row for row in rows if row.get("vs_baseline")]
    gains = [row for row in compared if row["vs_baseline"]["significant"] and row["vs_baseline"]["difference"] > 0]
    losses = [row for row in compared if row["vs_baseline"]["significant"] and row["vs_baseline"]["difference"] < 0]
    noise = [row for row in compared if not row["vs_baseline"]["significant"]]
    sentences = []
    for group, how in ((gains, "Beat"), (losses, "Lose to")):
        if group:
            points = sorted(abs(100 * row["vs_baseline"]["difference"]) for row in group)
            spread = f"{points[0]:.1f}" if len(points) == 1 else f"{points[0]:.1f}-{points[-1]:.1f}"
            sentences.append(f"{how} {baseline} by {spread} points of top-1: {_names(group)}.")
    if noise:
        sentences.append(f"Within noise of {baseline}: {_names(noise)}.")
    rising = [row for row in rows if row.get("converged") is False]
    if rising:
        sentences.append(
            f"Still improving when their budget ran out (⚠, their scores understate them): {_names(rising)}."
        )
    steps = sorted({row["steps"] for row in rows if "steps" in row})
    if len(steps) > 1:
        sentences.append(
            f"Budgets differ ({steps[0]} to {steps[-1]} optimizer steps): set `epoch_size: source` in `train:` to "
            "give every variant the same."
        )
    tied = [row for row in sorted(rows, key=lambda row: -row["top1"]) if row["tied_with_best"]]
    if len(tied) > 1:
        sentences.append(f"Within noise of the best ({tied[0]['name']}): {_names(tied[1:])}.")
    else:
        sentences.append(f"Best: {tied[0]['name']}, ahead of every other row by more than the noise.")
    return " ".join(sentences)


def _names(rows: list[dict]) -> str:
    names = [row["name"] for row in rows]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _budget(metrics: dict) -> dict:
    """What a row's training spent, and whether val top-1 was still rising at the end (more than 1 point over
    the last fifth of its epochs: trainer.budget.final_rise)."""
    rise = metrics["val_top1_final_rise"]
    return {
        "steps": metrics["steps"],
        "images_seen": metrics["images_seen"],
        "epochs_equivalent": metrics["epochs_equivalent"],
        "val_top1_final_rise": rise,
        "converged": rise <= CONVERGED_RISE,
    }


def _row(name: str, test: dict, train_rows: int | None, epochs: int | None) -> dict:
    return {
        "name": name,
        "train_rows": train_rows,
        "epochs": epochs,
        **{key: round(test[key], 4) for key in SCORES},
        "recall": {label: round(test["per_class"][label]["recall"], 4) for label in CLASS_NAMES},
    }


def compare_markdown(report: dict) -> str:
    """The table a person reads, best top-1 first, with intervals, the paired test against the baseline and the
    verdict; the leakage demonstration under it."""
    rows = sorted(report["rows"], key=lambda row: -row["top1"])
    short = [name[:3] for name in CLASS_NAMES]
    settings, baseline = report.get("bootstrap", {}), report.get("baseline", "-")
    lines = [
        "# Variants compared on one test split",
        "",
        f"Scores on the {settings.get('test_images', 'same')} test images every variant shares (val and test are "
        "never resampled), with 95% intervals from a seeded bootstrap over those images (the same resamples for "
        f"every row). Δ is the paired difference in top-1 from `{baseline}`, its interval at its Holm step's level; "
        "▲/▼ mark a gain or loss whose interval excludes zero. ≈ marks the rows that cannot be told apart from the "
        "best. Steps and epochs-equivalent (images seen / train rows) are each row's training budget; ⚠ marks a "
        "row whose val top-1 still rose by more than 1 point over the last fifth of it. Recall per class in the "
        "last columns; ensembles average their members' softmax.",
        "",
        f"| variant | train rows | steps | epochs-eq. | val rise | top-1 (95% CI) | Δ top-1 vs {baseline} | Holm p | "
        "macro-F1 (95% CI) | top-3 | " + " | ".join(short) + " |",
        "| --- |" + " ---: |" * (9 + len(short)),
    ]
    for row in rows:
        lines.append(_table_row(row))
    if report.get("verdict"):
        lines += ["", f"**Verdict.** {report['verdict']}"]
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


def _table_row(row: dict) -> str:
    size = "-" if row["train_rows"] is None else str(row["train_rows"])
    name = f"{row['name']} ≈" if row.get("tied_with_best") else row["name"]
    top1 = _with_interval(row["top1"], row.get("top1_ci"), 100, ".1f")
    f1 = _with_interval(row["macro_f1"], row.get("macro_f1_ci"), 1, ".3f")
    versus, holm = "", ""
    if row.get("vs_baseline"):
        compared = row["vs_baseline"]
        mark = ("▲" if compared["difference"] > 0 else "▼") if compared["significant"] else ""
        low, high = (100 * value for value in compared["ci"])
        versus = f"{100 * compared['difference']:+.1f} [{low:+.1f}, {high:+.1f}] {mark}".rstrip()
        holm = "<0.001" if compared["p_holm"] < 0.001 else f"{compared['p_holm']:.3f}"
    recall = " | ".join(f"{100 * row['recall'][label]:.0f}" for label in CLASS_NAMES)
    budget = "- | - | -"
    if "steps" in row:
        rise = f"{100 * row['val_top1_final_rise']:+.1f}" + ("" if row["converged"] else " ⚠")
        budget = f"{row['steps']} | {row['epochs_equivalent']:.1f} | {rise}"
    scores = f"{top1} | {versus} | {holm} | {f1} | {100 * row['top3']:.1f}"
    return f"| {name} | {size} | {budget} | {scores} | {recall} |"


def _with_interval(value: float, ci: list[float] | None, scale: float, form: str) -> str:
    shown = f"{scale * value:{form}}"
    return shown if ci is None else f"{shown} [{scale * ci[0]:{form}}, {scale * ci[1]:{form}}]"


def scores_png(rows: list[dict], path: Path) -> None:
    """Grouped bars: top-1 and macro-F1 with their 95% intervals, and top-3, per variant."""
    figure, axes = plt.subplots(figsize=(max(6, 0.9 * len(rows)), 4), dpi=100)
    x = np.arange(len(rows))
    bars = (("top1", "top-1"), ("top3", "top-3"), ("macro_f1", "macro-F1"))
    for offset, (key, label) in zip((-0.27, 0, 0.27), bars, strict=True):
        values = np.array([row[key] for row in rows])
        intervals = [row.get(f"{key}_ci") for row in rows]
        errors = None
        if all(intervals):
            errors = np.abs(np.array(intervals).T - values)
        axes.bar(x + offset, values, 0.27, label=label, yerr=errors, capsize=2 if errors is not None else 0)
    axes.set_xticks(x, [row["name"] for row in rows], rotation=30, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("test score (95% interval)")
    axes.legend(loc="lower center", ncol=3, bbox_to_anchor=(0.5, 1.0), frameon=False)
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
