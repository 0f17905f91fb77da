"""Scores of a classifier from its logits: top-1/2/3, per-class precision/recall/F1, macro and weighted F1,
confusion matrix. Plain numpy, checked against scikit-learn in the tests."""

import numpy as np

from ferdata.labels import CLASS_NAMES


def confusion(labels: np.ndarray, predicted: np.ndarray, classes: int = len(CLASS_NAMES)) -> np.ndarray:
    """counts[true, predicted]."""
    return np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def scores(logits: np.ndarray, labels: np.ndarray, loss: float) -> dict:
    """The metrics file's entry for one split."""
    ranked = np.argsort(-logits, axis=1, kind="stable")
    counts = confusion(labels, ranked[:, 0], logits.shape[1])
    true_positive = np.diag(counts).astype(float)
    support = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num(true_positive / counts.sum(axis=0))
        recall = np.nan_to_num(true_positive / support)
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    present = support > 0
    return {
        "top1": _top(ranked, labels, 1),
        "top2": _top(ranked, labels, 2),
        "top3": _top(ranked, labels, 3),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "weighted_f1": float((f1 * support).sum() / max(support.sum(), 1)),
        "loss": float(loss),
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(CLASS_NAMES, precision, recall, f1, support, strict=True)
        },
        "confusion": counts.tolist(),
    }


def classification_text(labels: np.ndarray, predicted: np.ndarray) -> str:
    """scikit-learn's `classification_report` text (4 digits, every class, 0 where undefined), byte for byte,
    without importing scikit-learn into every training run."""
    per_class = scores(np.eye(len(CLASS_NAMES))[predicted], labels, 0.0)["per_class"]
    table = np.array([[per_class[name][key] for key in ("precision", "recall", "f1")] for name in CLASS_NAMES])
    support = np.array([per_class[name]["support"] for name in CLASS_NAMES])
    total = int(support.sum())
    width = len("weighted avg")

    def line(name: str, values: list, count: int) -> str:
        cells = "".join(f" {value:>9}" if isinstance(value, str) else f" {value:>9.4f}" for value in values)
        return f"{name:>{width}} {cells} {count:>9}"

    accuracy = float((labels == predicted).mean()) if total else 0.0
    return "\n".join(
        [
            f"{'':>{width}} " + "".join(f" {head:>9}" for head in ("precision", "recall", "f1-score", "support")),
            "",
            *[line(name, list(values), count) for name, values, count in zip(CLASS_NAMES, table, support, strict=True)],
            "",
            line("accuracy", ["", "", accuracy], total),
            line("macro avg", list(table.mean(axis=0)), total),
            line("weighted avg", list(support @ table / max(total, 1)), total),
            "",
        ]
    )


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _top(ranked: np.ndarray, labels: np.ndarray, k: int) -> float:
    return float((ranked[:, :k] == labels[:, None]).any(axis=1).mean()) if len(labels) else 0.0
