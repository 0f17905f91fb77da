"""Training budgets and schedules: equal steps for every variant of one dataset, a permutation stream that
serves every row evenly, cosine annealing to zero at the last step, the convergence measure, exact resume."""

import itertools
import json
import math

import pytest
import torch

from conftest import tiny_recipe
from ferdata.build import build_variant
from ferdata.errors import FerdataError
from ferdata.variants.registry import VariantParams
from ferdata.variants.section import BuildParams
from trainer.budget import final_rise, make_scheduler, source_epoch_order, steps_per_epoch
from trainer.loop import fit

SOURCE = tiny_recipe(epoch_size="source", schedule="cosine", warmup_epochs=0.5, epochs=2)


def test_every_variant_of_one_dataset_gets_the_same_steps(learnable, tmp_path):
    params = BuildParams(variants={"ros": VariantParams(steps=["ros"])})
    card, _ = build_variant("ros", learnable, tmp_path / "ros", params, seed=0)
    assert sum(card["counts_after"]) > sum(card["counts_before"])  # resampling made more rows
    plain = fit(learnable, tmp_path / "plain", SOURCE, seed=0, device_name="cpu")
    grown = fit(tmp_path / "ros", tmp_path / "grown", SOURCE, seed=0, device_name="cpu")
    assert plain["steps"] == grown["steps"] == 2 * math.ceil(sum(card["counts_before"]) / SOURCE.batch_size)
    assert plain["images_seen"] == grown["images_seen"] == 2 * sum(card["counts_before"])
    expected = 2 * sum(card["counts_before"]) / sum(card["counts_after"])
    assert grown["epochs_equivalent"] == pytest.approx(expected, abs=1e-4)


def test_the_permutation_stream_serves_every_row_equally_often():
    # Ten epochs of 7 images from 10 rows are the first 70 of the stream: 7 whole permutations.
    drawn = torch.cat([source_epoch_order(10, 7, epoch, seed=3, device=torch.device("cpu")) for epoch in range(10)])
    assert torch.bincount(drawn, minlength=10).tolist() == [7] * 10
    again = source_epoch_order(10, 7, 4, seed=3, device=torch.device("cpu"))
    assert torch.equal(again, drawn[28:35])  # stateless: any epoch can be drawn alone (resume)
    assert not torch.equal(again, source_epoch_order(10, 7, 4, seed=4, device=torch.device("cpu")))


def test_steps_per_epoch_split_the_rows_between_ranks():
    assert steps_per_epoch(100, 0, 1, 32) == 4
    assert steps_per_epoch(100, 0, 2, 32) == steps_per_epoch(100, 1, 2, 32) == 4  # 50 rows each, batches of 16


def test_cosine_warms_up_then_anneals_to_zero_at_the_last_step():
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    config = tiny_recipe(schedule="cosine", warmup_epochs=1, epochs=3)
    scheduler = make_scheduler(optimizer, config, steps=10)  # 30 steps, the first 10 warming up
    rates = []
    for _ in range(30):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(0.01) and rates[9] == pytest.approx(0.1)
    assert rates[10] == pytest.approx(0.1) and rates[20] == pytest.approx(0.05)  # halfway down the cosine
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)  # after the last step
    assert all(later <= earlier for earlier, later in itertools.pairwise(rates[10:]))


def test_final_rise_measures_the_last_fifth():
    assert final_rise([0.1 * e for e in range(10)]) == pytest.approx(0.2)  # three epochs, 0.1 apart
    assert final_rise([0.5] * 10) == pytest.approx(0.0)
    assert final_rise([0.5 + 0.01 * e for e in range(20)] + [0.7, 0.7, 0.7, 0.7]) == pytest.approx(0.006, abs=0.01)
    assert final_rise([0.4]) == 0.0


class _Crash(Exception):
    pass


def _crash_after_first_epoch(epoch: int, val_top1: float) -> None:
    if epoch == 0:
        raise _Crash


def test_source_sized_cosine_training_resumes_exactly(learnable, tmp_path):
    straight = fit(learnable, tmp_path / "straight", SOURCE, seed=1, device_name="cpu")
    with pytest.raises(_Crash):  # a run that dies after its first epoch, as a killed one would
        fit(learnable, tmp_path / "resumed", SOURCE, seed=1, device_name="cpu", on_epoch=_crash_after_first_epoch)
    with pytest.raises(FerdataError, match="another config"):  # a cosine schedule's length is part of it
        fit(learnable, tmp_path / "resumed", SOURCE.model_copy(update={"epochs": 3}), 1, "cpu", resume=True)
    resumed = fit(learnable, tmp_path / "resumed", SOURCE, seed=1, device_name="cpu", resume=True)
    history = [json.loads((tmp_path / d / "history.json").read_text()) for d in ("straight", "resumed")]
    assert history[0] == history[1] and straight["test"] == resumed["test"]
