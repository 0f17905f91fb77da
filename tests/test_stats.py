"""The comparison's statistics against independent expectations: coverage of the bootstrap interval on
predictions of known accuracy, McNemar by hand, Holm on a textbook example, macro-F1 against scikit-learn."""

from math import comb

import numpy as np
import pytest
from sklearn.metrics import f1_score

from trainer import stats


def test_the_bootstrap_interval_covers_the_true_accuracy_about_95_percent_of_the_time():
    """Many test splits drawn from a classifier whose accuracy is known to be 0.7: the 95% interval of each
    split's top-1 holds 0.7 in about 95% of them."""
    rng = np.random.default_rng(0)
    trials, n = 400, 500
    counts = stats.resample_counts(n, rounds=1000, seed=1)
    covered = 0
    for _ in range(trials):
        correct = rng.random(n) < 0.7
        low, high = stats.interval(stats.top1_per_round(correct, counts))
        covered += low <= 0.7 <= high
    # 95% of 400 with a binomial standard error of ~1.1 points: 91-98.5% is 3 standard errors.
    assert 0.91 <= covered / trials <= 0.985, covered / trials


def test_resampling_is_seeded_and_draws_n_images_per_round():
    counts = stats.resample_counts(50, rounds=20, seed=3)
    assert (counts.sum(axis=1) == 50).all()
    np.testing.assert_array_equal(counts, stats.resample_counts(50, rounds=20, seed=3))
    assert not np.array_equal(counts, stats.resample_counts(50, rounds=20, seed=4))


def test_macro_f1_per_round_is_scikit_learns_on_the_resampled_images():
    rng = np.random.default_rng(2)
    labels, predicted = rng.integers(0, 7, 300), rng.integers(0, 7, 300)
    predicted[:150] = labels[:150]
    counts = stats.resample_counts(300, rounds=5, seed=0)
    ours = stats.macro_f1_per_round(labels, predicted, counts, 7)
    for r in range(5):
        index = np.repeat(np.arange(300), counts[r])
        assert ours[r] == pytest.approx(f1_score(labels[index], predicted[index], average="macro", zero_division=0))


def test_mcnemar_by_hand():
    # 10 images only A gets right, 2 only B: exact two-sided p = 2 * P(X <= 2), X ~ Binomial(12, 1/2).
    a = np.array([True] * 10 + [False] * 2 + [True] * 30 + [False] * 8)
    b = np.array([False] * 10 + [True] * 2 + [True] * 30 + [False] * 8)
    expected = 2 * sum(comb(12, k) for k in range(3)) / 2**12  # 158 / 4096
    assert stats.mcnemar(a, b) == pytest.approx(expected)
    assert stats.mcnemar(a, a) == 1.0


def test_holm_on_a_textbook_example():
    # Holm (1979), as in most textbooks: p = 0.01, 0.04, 0.03, 0.005 for four hypotheses. Sorted: 0.005 x 4 =
    # 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> 0.06 (adjusted p-values never decrease).
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def _flipped(correct: np.ndarray, to_right: int, to_wrong: int, rng) -> np.ndarray:
    """`correct` with `to_right` wrong answers made right and `to_wrong` right ones made wrong."""
    changed = correct.copy()
    changed[rng.choice(np.flatnonzero(~correct), to_right, replace=False)] = True
    changed[rng.choice(np.flatnonzero(correct), to_wrong, replace=False)] = False
    return changed


def test_a_difference_is_marked_when_and_only_when_its_interval_excludes_zero():
    rng = np.random.default_rng(5)
    none = rng.random(1000) < 0.6
    correct = {
        "none": none,
        "same": _flipped(none, 40, 40, rng),  # 80 images disagree, evenly: noise
        "better": _flipped(none, 90, 20, rng),  # seven points up
        "worse": _flipped(none, 10, 70, rng),  # six points down
        "slightly": _flipped(none, 30, 20, rng),  # one point up, on 50 disagreements: not enough
    }
    counts = stats.resample_counts(1000, rounds=2000, seed=0)
    result = stats.against_baseline(correct, "none", counts)
    assert set(result) == {"same", "better", "worse", "slightly"}
    assert result["better"].significant and result["better"].low > 0
    assert result["worse"].significant and result["worse"].high < 0
    for name in ("same", "slightly"):
        assert not result[name].significant and result[name].low <= 0 <= result[name].high
    assert result["better"].difference == pytest.approx(0.07)
    for comparison in result.values():
        assert comparison.significant == (comparison.p_holm < 0.05)


def test_several_seeds_score_their_mean_and_mcnemar_takes_the_pooled_answers():
    rng = np.random.default_rng(7)
    seeds = rng.random((3, 400)) < np.array([[0.6], [0.7], [0.8]])  # three seeds of one model
    counts = stats.resample_counts(400, rounds=50, seed=0)
    per_seed = [stats.top1_per_round(seed, counts) for seed in seeds]
    np.testing.assert_allclose(stats.top1_per_round(seeds, counts), np.mean(per_seed, axis=0))

    base = rng.random((3, 400)) < 0.6
    pooled = {"none": rng.random(400) < 0.5, "model": rng.random(400) < 0.5}
    result = stats.against_baseline({"none": base, "model": seeds}, "none", counts, pooled=pooled)["model"]
    assert result.difference == pytest.approx(seeds.mean() - base.mean())
    assert result.mcnemar_p == stats.mcnemar(pooled["model"], pooled["none"])
