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


def seed_dir(models: Path, variant: str, seed: int) -> Path:
    """Where the train stage writes `variant`'s model trained with `seed` (dvc.yaml's train matrix)."""
    return models / variant / f"seed{seed}"


def compare(
    variants: list[str],
    models: Path,
    ensembles: dict[str, list[str]],
    data: Path,
    leak: dict,
    seeds: list[int],
    seed: int = 0,
    baseline: str = "none",
) -> dict:
    """Rows for `variants` (MODELS/<variant>/seed<k>/metrics.json and best.pt for each of `seeds`) and for each
    ensemble, averaged over the seeds, with bootstrap intervals over the test images (seeded, the same resamples
    for every row) and paired tests."""
    rows, probabilities, test_hashes = [], {}, set()
    for variant in variants:
        runs = []
        for k in seeds:
            path = seed_dir(models, variant, k) / "metrics.json"
            if not path.is_file():
                raise FerdataError(f"{path}: no metrics (train the variant first: dvc repro train@{variant}-{k})")
            runs.append(json.loads(path.read_text()))
        test_hashes |= {metrics["test_sha256"] for metrics in runs}
        tests = [metrics["test"] for metrics in runs]
        rows.append(_row(variant, tests, runs[0]["train_rows"], runs[0]["epochs_run"]) | _budget(runs))
    if len(test_hashes) > 1:
        raise FerdataError("the variants were scored on different test splits; rebuild them from one dataset")
    if variants and baseline not in variants:
        raise FerdataError(f"compare.baseline: {baseline!r} is not among the trained variants ({', '.join(variants)})")
    labels = np.zeros(0, np.int64)
    for variant in variants:
        per_seed = [mean_probabilities([seed_dir(models, variant, k) / "best.pt"], data)["test"] for k in seeds]
        probabilities[variant] = np.stack([p for p, _ in per_seed])
        labels = per_seed[0][1]
    for name, members in ensembles.items():  # per seed, the members' softmax averaged: already computed
        probabilities[name] = np.mean([probabilities[member] for member in members], axis=0)
        tests = [scores(np.log(np.clip(p, 1e-12, None)), labels, 0.0) for p in probabilities[name]]
        rows.append(_row(name, tests, None, None))
    report = {"test_split_sha256": test_hashes.pop() if test_hashes else None, "seeds": seeds, "rows": rows}
    if rows:
        predicted = {name: p.argmax(-1) for name, p in probabilities.items()}
        pooled = {name: p.mean(axis=0).argmax(-1) for name, p in probabilities.items()}
        report |= add_uncertainty(rows, predicted, pooled, labels, seed, baseline)
    return report | {"leakdemo": leak_intervals(leak, len(labels), seed)}


def add_uncertainty(
    rows: list[dict],
    predicted: dict[str, np.ndarray],
    pooled: dict[str, np.ndarray],
    labels: np.ndarray,
    seed: int,
    baseline: str,
) -> dict:
    """Each row's 95% intervals, its paired test against the baseline (Holm-corrected) and whether it is
    distinguishable from the best row; returns the report's bootstrap settings and verdict. `predicted` holds
    each row's (seeds, images) predictions, `pooled` its seed-averaged softmax's (for McNemar)."""
    counts = stats.resample_counts(len(labels), stats.ROUNDS, seed)
    correct = {name: predicted[name] == labels for name in predicted}
    right = {name: pooled[name] == labels for name in pooled}
    best = max(rows, key=lambda row: row["top1"])["name"]
    versus_best = stats.against_baseline(correct, best, counts, pooled=right)
    versus_base = stats.against_baseline(correct, baseline, counts, pooled=right)
    for row in rows:
        name = row["name"]
        row["top1_ci"] = _rounded(stats.interval(stats.top1_per_round(correct[name], counts)))
        f1 = [stats.macro_f1_per_round(labels, p, counts, len(CLASS_NAMES)) for p in np.atleast_2d(predicted[name])]
        row["macro_f1_ci"] = _rounded(stats.interval(np.mean(f1, axis=0)))
        row["vs_baseline"] = _comparison(versus_base[name]) if name in versus_base else None
        row["tied_with_best"] = name == best or not versus_best[name].significant
    settings = {"rounds": stats.ROUNDS, "seed": seed, "level": stats.LEVEL, "test_images": len(labels)}
    return {"bootstrap": settings, "baseline": baseline, "verdict": verdict(rows, baseline)}


def leak_intervals(leak: dict, honest_images: int, seed: int) -> dict:
    """The leakage demonstration with 95% bootstrap intervals: each run's test top-1 (network and 1-NN), the
    inflation (leaky minus honest), and the gap between the leaky test rows that share a source image with a
    training row and the rest. Different sets of images are resampled independently; a top-1 alone fixes its
    bootstrap distribution (the share of its images a model got right)."""
    if not leak.get("enabled"):
        return leak
    sizes = {"honest": honest_images, "leaky": leak["leaky_test_rows"]}
    rounds = {
        (run, key): _top1_rounds(sizes[run], leak[run][key], seed + offset)
        for offset, run in enumerate(sizes)
        for key in ("test_top1", "nearest_neighbour_test_top1")
    }
    intervals = {f"{run}_{key}": _rounded(stats.interval(values)) for (run, key), values in rounds.items()}
    for key, name in (("test_top1", "top1"), ("nearest_neighbour_test_top1", "nearest_neighbour_top1")):
        intervals[f"inflation_{name}_points"] = _points(rounds["leaky", key] - rounds["honest", key])
    parts = leak["leaky_test_top1_by_rows"].values()
    if all(part["rows"] for part in parts):
        for key in ("network", "nearest_neighbour"):
            shared, rest = (_top1_rounds(part["rows"], part[key], seed + 2 + i) for i, part in enumerate(parts))
            intervals[f"shared_minus_rest_{key}_points"] = _points(shared - rest)
    return leak | {"intervals": intervals}


def _top1_rounds(images: int, top1: float, seed: int) -> np.ndarray:
    right = np.arange(images) < round(top1 * images)
    return stats.top1_per_round(right, stats.resample_counts(images, stats.ROUNDS, seed))


def _points(fractions: np.ndarray) -> list[float]:
    return [round(100 * value, 2) for value in stats.interval(fractions)]


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
            f"Budgets differ ({steps[0]} to {steps[-1]} optimizer steps): set `epoch_size: source` in "
            "`train.recipe` to give every variant the same."
        )
    tied = [row for row in sorted(rows, key=lambda row: -row["top1"]) if row["tied_with_best"]]
    if len(tied) > 1:
        sentences.append(f"Within noise of the best ({tied[0]['name']}): {_names(tied[1:])}.")
    else:
        sentences.append(f"Best: {tied[0]['name']}, ahead of every other row by more than the noise.")
    spreads = sorted(100 * row["top1_std"] for row in rows if row.get("seeds", 1) > 1)
    if spreads:
        sentences.append(
            f"Seed to seed, a row's top-1 varies by {spreads[0]:.1f}-{spreads[-1]:.1f} points (standard deviation "
            f"over {rows[0]['seeds']} seeds)."
        )
    return " ".join(sentences)


def _names(rows: list[dict]) -> str:
    names = [row["name"] for row in rows]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _budget(runs: list[dict]) -> dict:
    """What a row's training spent (every seed the same), and whether the row's val top-1, its seeds' mean, was
    still rising at the end: more than 1 point over the last fifth of the epochs (trainer.budget.final_rise, a
    least-squares fit, so the mean curve's rise is the mean of the seeds' rises)."""
    rises = [metrics["val_top1_final_rise"] for metrics in runs]
    rise = round(float(np.mean(rises)), 4)
    return {
        "steps": runs[0]["steps"],
        "images_seen": runs[0]["images_seen"],
        "epochs_equivalent": runs[0]["epochs_equivalent"],
        "val_top1_final_rise": rise,
        "val_top1_final_rise_seeds": rises,
        "converged": rise <= CONVERGED_RISE,
    }


def _row(name: str, tests: list[dict], train_rows: int | None, epochs: int | None) -> dict:
    """A row's scores averaged over its seeds' test metrics, with their spread."""
    row = {"name": name, "train_rows": train_rows, "epochs": epochs, "seeds": len(tests)}
    for key in SCORES:
        values = np.array([test[key] for test in tests])
        row[key] = round(float(values.mean()), 4)
        if key in ("top1", "macro_f1"):
            row[f"{key}_std"] = round(float(values.std(ddof=1)) if len(values) > 1 else 0.0, 4)
            row[f"{key}_seeds"] = [round(float(value), 4) for value in values]
    recall = {label: np.mean([test["per_class"][label]["recall"] for test in tests]) for label in CLASS_NAMES}
    return row | {"recall": {label: round(float(value), 4) for label, value in recall.items()}}


def compare_markdown(report: dict) -> str:
    """The table a person reads, best top-1 first, with intervals, the paired test against the baseline and the
    verdict; the leakage demonstration under it."""
    rows = sorted(report["rows"], key=lambda row: -row["top1"])
    short = [name[:3] for name in CLASS_NAMES]
    settings, baseline = report.get("bootstrap", {}), report.get("baseline", "-")
    seeds = report.get("seeds", [0])
    lines = [
        "# Variants compared on one test split",
        "",
        f"Scores on the {settings.get('test_images', 'same')} test images every variant shares (val and test are "
        f"never resampled), {_seeds_text(seeds)}, with 95% intervals from a seeded bootstrap over those images "
        f"(the same resamples for every row). Δ is the paired difference in top-1 from `{baseline}`, its interval "
        "at its Holm step's level; ▲/▼ mark a gain or loss whose interval excludes zero. ≈ marks the rows that "
        "cannot be told apart from the best. Steps and epochs-equivalent (images seen / train rows) are each row's "
        "training budget; ⚠ marks a row whose val top-1 (its seeds' mean) still rose by more than 1 point over the "
        "last fifth of it. Recall per class in the last columns; ensembles average their members' softmax, seed by "
        "seed.",
        "",
        f"| variant | train rows | steps | epochs-eq. | val rise | top-1 ± sd [95% CI] | Δ top-1 vs {baseline} | "
        "Holm p | macro-F1 [95% CI] | top-3 | " + " | ".join(short) + " |",
        "| --- |" + " ---: |" * (9 + len(short)),
    ]
    for row in rows:
        lines.append(_table_row(row))
    if report.get("verdict"):
        lines += ["", f"**Verdict.** {report['verdict']}"]
    lines += ["", "![scores](compare_scores.png)", "", "![recall per class](compare_recall.png)", ""]
    leak = report["leakdemo"]
    if leak.get("enabled"):
        lines += _leak_markdown(leak)
    return "\n".join(lines)


def _seeds_text(seeds: list[int]) -> str:
    if len(seeds) == 1:
        return f"from training seed {seeds[0]} alone (no seed spread: list more in `train.seeds`)"
    return f"each the mean over {len(seeds)} training seeds ({', '.join(map(str, seeds))}) ± their standard deviation"


def _leak_markdown(leak: dict) -> list[str]:
    honest, leaky, ci = leak["honest"], leak["leaky"], leak["intervals"]

    def cell(run: str, key: str) -> str:
        low, high = ci[f"{run}_{key}"]
        return f"{100 * leak[run][key]:.1f} [{100 * low:.1f}, {100 * high:.1f}]"

    def inflation(name: str) -> str:
        low, high = ci[f"inflation_{name}_points"]
        return f"{leak['inflation_points'][name]:+.1f} [{low:+.1f}, {high:+.1f}]"

    return [
        f"## Leakage demonstration ({leak['variant']})",
        "",
        "| run | train rows | test top-1 [95% CI] | test macro-F1 | 1-NN test top-1 [95% CI] |",
        "| --- | ---: | ---: | ---: | ---: |",
        *[
            f"| {run['how']} | {run['train_rows']} | {cell(name, 'test_top1')} | {run['test_macro_f1']:.3f} "
            f"| {cell(name, 'nearest_neighbour_test_top1')} |"
            for name, run in (("honest", honest), ("leaky", leaky))
        ],
        "",
        f"Resampling before splitting changes the network's test top-1 by **{inflation('top1')} points** (macro-F1 "
        f"{leak['inflation_points']['macro_f1']:+.1f}) and a 1-nearest-neighbour classifier's, which memorises its "
        f"training set, by **{inflation('nearest_neighbour_top1')} points** (95% intervals; the two test splits "
        "differ, so they are resampled independently). "
        f"{leak['leaky_test_rows_sharing_a_source_with_train']} of the leaky test split's {leak['leaky_test_rows']} "
        f"rows share a source image with a training row, and {leak['leaky_test_synthetic_rows']} are synthetic: "
        "that test set measures memory, not generalisation.",
        *_shared_rows_markdown(leak),
        "",
    ]


def _shared_rows_markdown(leak: dict) -> list[str]:
    """Within the leaky test split: the rows whose source image is also in training against the rest."""
    shared, rest = leak["leaky_test_top1_by_rows"].values()
    gaps = leak["intervals"]
    if "shared_minus_rest_network_points" not in gaps:
        return []

    def gap(key: str) -> str:
        low, high = gaps[f"shared_minus_rest_{key}_points"]
        return f"{100 * (shared[key] - rest[key]):+.1f} [{low:+.1f}, {high:+.1f}]"

    return [
        "",
        f"Within the leaky test split, the leaky network gets {100 * shared['network']:.1f}% of the "
        f"{shared['rows']} rows that share a source image with a training row and {100 * rest['network']:.1f}% of "
        f"the other {rest['rows']}: **{gap('network')} points** for having seen them (1-NN: "
        f"{100 * shared['nearest_neighbour']:.1f}% against {100 * rest['nearest_neighbour']:.1f}%, "
        f"{gap('nearest_neighbour')}). The two parts differ in class mix too, so this gap is memory plus that.",
    ]


def _table_row(row: dict) -> str:
    size = "-" if row["train_rows"] is None else str(row["train_rows"])
    name = f"{row['name']} ≈" if row.get("tied_with_best") else row["name"]
    spread = row["top1_std"] if row.get("seeds", 1) > 1 else None
    top1 = _with_interval(row["top1"], row.get("top1_ci"), 100, ".1f", spread)
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


def _with_interval(value: float, ci: list[float] | None, scale: float, form: str, std: float | None = None) -> str:
    shown = f"{scale * value:{form}}" + ("" if std is None else f" ±{scale * std:{form}}")
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
