"""The training budget and its schedule: how many images an epoch is, in which order they come, how the
learning rate moves over the steps, and whether a run was still improving when its budget ran out.

With `epoch_size: source` an epoch is as many images as the un-resampled training split has, so every variant
built from one dataset gets the same number of optimizer steps however many rows resampling gave it; batches
are drawn from an endless stream of seeded permutations of the variant's rows (the k-th permutation depends only
on the seed and k, so resuming needs no stored position).
"""

import math

import numpy as np
import torch

from ferdata.recipe import TrainConfig

SEED_STRIDE = 1_000_003  # separates the permutation seeds of different run seeds


def epoch_rows(config: TrainConfig, card: dict, train_rows: int) -> int:
    """Images per epoch: the variant's rows, or the un-resampled training split's (from the data's card, {} when
    it has none)."""
    if config.epoch_size == "variant" or not card:
        return train_rows
    if "counts_before" in card:  # a variant: what it was built from
        return int(sum(card["counts_before"]))
    return int(sum(card.get("counts", {}).get("train", [train_rows])))  # an ingested dataset: itself


def source_epoch_order(n: int, rows: int, epoch: int, seed: int, device: torch.device) -> torch.Tensor:
    """Positions epoch*rows .. (epoch+1)*rows of the endless stream of seeded permutations of n rows."""
    start, stop = epoch * rows, (epoch + 1) * rows
    permutations = [
        torch.randperm(n, device=device, generator=torch.Generator(device=device).manual_seed(seed * SEED_STRIDE + k))
        for k in range(start // n, (stop - 1) // n + 1)
    ]
    offset = start - (start // n) * n
    return torch.cat(permutations)[offset : offset + rows]


def steps_per_epoch(rows: int, rank: int, world: int, batch_size: int) -> int:
    """Optimizer steps in one epoch on this rank (every rank takes the same number)."""
    share = len(range(rank, rows, world))
    return math.ceil(share / max(1, batch_size // world))


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps: int):
    """ReduceLROnPlateau on val top-1 (stepped per epoch), or cosine annealing to zero at the last of
    `config.epochs * steps` steps after a linear warm-up (stepped per optimizer step)."""
    if config.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=config.plateau_factor, patience=config.plateau_patience
        )
    total, warmup = config.epochs * steps, round(config.warmup_epochs * steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def final_rise(val_top1: list[float]) -> float:
    """How much val top-1 was still rising over the last fifth of the epochs (at least three): the slope of a
    least-squares line through them, times their span. Above 0.01, the run had not converged."""
    tail = np.asarray(val_top1[-max(3, round(len(val_top1) / 5)) :], dtype=np.float64)
    if len(tail) < 2:
        return 0.0
    slope = np.polyfit(np.arange(len(tail)), tail, 1)[0]
    return float(slope * (len(tail) - 1))
