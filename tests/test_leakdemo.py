"""The leakage demonstration's library: the leaky dataset really leaks, the honest one never does."""

import numpy as np
import pytest

from ferdata.build import build_variant
from ferdata.leakdemo import leaky_dataset, nearest_neighbour_correct, sharing_a_source
from ferdata.store import SPLITS, Split, load_dataset
from ferdata.variants.registry import steps_of
from ferdata.variants.section import BuildParams


def _split(ids: list[str], origin: list[str]) -> Split:
    n = len(ids)
    return Split(np.zeros((n, 48, 48), np.uint8), np.zeros(n, np.int8), np.array(ids), np.array(origin, dtype=str))


def test_rows_sharing_a_source_follow_ids_and_parents():
    train = _split(["a", "ros:0", "smote:0"], ["", "b", "c|d"])
    test = _split(["a", "b", "e", "smote:1", "smote:2"], ["", "", "", "x|d", "x|y"])
    # "a" is in train; "b" was copied into train; smote:1 has parent d, a parent of a training row.
    np.testing.assert_array_equal(sharing_a_source(test, train), [True, True, False, True, False])


@pytest.mark.parametrize("variant", ["ros", "smote"])
def test_resampling_before_splitting_leaks_and_after_does_not(variant, ingested, tmp_path):
    params = BuildParams()
    dataset = load_dataset(ingested)
    leaky = leaky_dataset(dataset, steps_of(variant, params.variants, params.neighbors), seed=0)
    pooled = sum(len(dataset[name]) for name in SPLITS)
    assert sum(len(leaky[name]) for name in SPLITS) > pooled  # the pool was resampled, then split
    share = len(leaky["test"]) / sum(len(leaky[name]) for name in SPLITS)
    assert share == pytest.approx(len(dataset["test"]) / pooled, abs=0.01)
    assert sharing_a_source(leaky["test"], leaky["train"]).sum() > len(leaky["test"]) / 4

    build_variant(variant, ingested, tmp_path / variant, params, seed=0)
    honest = load_dataset(tmp_path / variant)
    assert not sharing_a_source(honest["test"], honest["train"]).any()
    assert nearest_neighbour_correct(leaky).mean() > nearest_neighbour_correct(honest).mean() + 0.2
