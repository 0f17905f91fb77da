"""Uncertainty and significance for comparing models scored on one test split.

Intervals come from a seeded bootstrap over test images; every model is resampled with the same indices, so
differences between models are paired. Paired differences get a two-sided bootstrap p-value, McNemar's exact
test is there for two classifiers' right/wrong answers, and Holm's step-down method corrects a family of
p-values. numpy and scipy only; no per-resample Python loop.
"""

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

ROUNDS = 2000
LEVEL = 0.95


def resample_counts(n: int, rounds: int = ROUNDS, seed: int = 0) -> np.ndarray:
    """(rounds, n) how often each test image is drawn in each bootstrap round: the same for every model."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(rounds, n))
    counts = np.zeros((rounds, n), np.int32)
    np.add.at(counts, (np.arange(rounds)[:, None], draws), 1)
    return counts


def top1_per_round(correct: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Top-1 accuracy in each bootstrap round; `correct` is (images,) or (seeds, images), averaged over seeds."""
    return counts @ np.atleast_2d(correct).mean(axis=0, dtype=np.float64) / counts.sum(axis=1)


def macro_f1_per_round(labels: np.ndarray, predicted: np.ndarray, counts: np.ndarray, classes: int) -> np.ndarray:
    """Macro-F1 in each bootstrap round (scikit-learn's: classes that occur in truth or prediction, F1 0 where
    undefined)."""
    weights = counts.astype(np.float64)
    true = weights @ np.eye(classes)[labels]
    chosen = weights @ np.eye(classes)[predicted]
    hit = weights @ (np.eye(classes)[labels] * (labels == predicted)[:, None])
    present = (true + chosen) > 0
    f1 = np.divide(2 * hit, true + chosen, out=np.zeros_like(hit), where=present)
    return f1.sum(axis=1) / present.sum(axis=1)


def interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The percentile interval of bootstrap values."""
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def bootstrap_p(differences: np.ndarray) -> float:
    """Two-sided p-value of "no difference" from bootstrap differences: twice the smaller tail at zero."""
    below, above = (differences <= 0).mean(), (differences >= 0).mean()
    return float(min(1.0, 2 * min(below, above)))


def mcnemar(a_correct: np.ndarray, b_correct: np.ndarray) -> float:
    """McNemar's exact two-sided p-value: of the images exactly one classifier gets right, is the split 50:50?"""
    only_a = int((a_correct & ~b_correct).sum())
    only_b = int((b_correct & ~a_correct).sum())
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    p = np.asarray(pvalues, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (len(p) - np.arange(len(p)))
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted.tolist()


@dataclass(frozen=True)
class Comparison:
    """A model against a baseline on the same test images."""

    difference: float  # top-1 (fraction), model minus baseline
    low: float  # the difference's interval, at the level of its Holm step
    high: float
    p: float  # paired bootstrap, two-sided
    p_holm: float  # Holm-adjusted across the family of comparisons
    mcnemar_p: float

    @property
    def significant(self) -> bool:
        """A gain or a loss: the interval excludes zero."""
        return self.low > 0 or self.high < 0


def against_baseline(
    correct: dict[str, np.ndarray],
    baseline: str,
    counts: np.ndarray,
    level: float = LEVEL,
    pooled: dict[str, np.ndarray] | None = None,
) -> dict[str, Comparison]:
    """Every other model's top-1 against `baseline`'s, paired over the same bootstrap rounds, Holm-corrected.
    `correct` holds each model's right answers, (images,) or (seeds, images): a model trained with several seeds
    scores their mean. McNemar compares `pooled` right answers (of each model's seed-averaged prediction; by
    default `correct`, one seed each).

    Holm's step-down tests the smallest p-value at alpha/m, the next at alpha/(m-1), and so on until one fails;
    each interval is at its step's level (those from the failed step on, at that step's), so an interval that
    excludes zero is a difference Holm's procedure keeps, up to the bootstrap's resolution.
    """
    pooled = correct if pooled is None else pooled
    base = top1_per_round(correct[baseline], counts)
    names = [name for name in correct if name != baseline]
    differences = {name: top1_per_round(correct[name], counts) - base for name in names}
    raw = dict(zip(names, [bootstrap_p(differences[name]) for name in names], strict=True))
    adjusted = dict(zip(names, holm([raw[name] for name in names]), strict=True))
    alpha, m = 1 - level, len(names)
    failed, result = False, {}
    for rank, name in enumerate(sorted(names, key=raw.get)):
        if not failed:
            step_alpha = alpha / (m - rank)
            failed = raw[name] >= step_alpha
        low, high = interval(differences[name], 1 - step_alpha)
        result[name] = Comparison(
            difference=float(np.mean(correct[name]) - np.mean(correct[baseline])),
            low=low,
            high=high,
            p=raw[name],
            p_holm=adjusted[name],
            mcnemar_p=mcnemar(pooled[name], pooled[baseline]),
        )
    return {name: result[name] for name in names}
