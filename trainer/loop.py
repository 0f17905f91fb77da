"""The training loop: one variant in, the best epoch's checkpoint and its scores out.

The uint8 dataset lives on the training device and is augmented there in batches (trainer.augment); losses
and accuracies are summed on the device and read once per epoch. Writes OUT/last.pt and OUT/best.pt
(trainer.checkpoint), OUT/history.json (per epoch: loss, top-1 train/val, lr), OUT/metrics.json (val and test
scores of the best checkpoint), the DVCLive log OUT/dvclive/ (when DVCLive is installed: the `pipeline` extra)
and trainer.report's figures.

Under torchrun every rank draws the same seeded permutation and takes every N-th row of it, so the ranks share
the global batch; rank 0 writes the outputs.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel

from ferdata.card import file_sha256, write_json
from ferdata.errors import FerdataError
from ferdata.labels import CLASS_NAMES
from ferdata.recipe import TrainConfig
from ferdata.store import Split, load_dataset
from trainer import distributed
from trainer.augment import erase, random_crop, ten_crop, warp
from trainer.budget import epoch_rows, final_rise, make_scheduler, source_epoch_order, steps_per_epoch
from trainer.checkpoint import resume_state, save
from trainer.forward import autocast, layout, logits_and_loss
from trainer.metrics import scores
from trainer.models import build_model
from trainer.progress import TrainingProgress
from trainer.report import write_reports
from trainer.workdir import WORK, commit, open_workdir

if TYPE_CHECKING:
    from dvclive import Live

OnEpoch = Callable[[int, float], None]


@dataclass
class Run:
    """One training run's data on the device, its model and optimizer, and where it stands."""

    config: TrainConfig
    seed: int
    rank: int
    world: int
    splits: dict[str, Split]
    images: dict[str, torch.Tensor]
    labels: dict[str, torch.Tensor]
    loss_weights: torch.Tensor | None
    card_hash: str | None
    order: torch.Generator  # the epoch permutation: the same on every rank
    generator: torch.Generator  # augmentation: per rank
    model: torch.nn.Module
    ema: AveragedModel | None  # the weights' moving average, when the recipe keeps one
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau
    work: Path
    epoch_rows: int  # images per epoch (trainer.budget)
    steps_per_epoch: int
    start: int = 0
    best: float = -1.0
    best_epoch: int = -1
    history: list[dict] = field(default_factory=list)

    @property
    def scored(self) -> torch.nn.Module:
        """The network validated, checkpointed as `model` and scored: the moving average when there is one."""
        return self.model if self.ema is None else self.ema.module


def fit(
    data: Path,
    out: Path,
    config: TrainConfig,
    seed: int,
    device_name: str = "auto",
    resume: bool = False,
    on_epoch: OnEpoch | None = None,
) -> dict:
    """Train, keep the best epoch by validation top-1, score it on val and test; returns the metrics.
    `on_epoch(epoch, val_top1)` is called after each epoch (the tuner prunes poor trials from it)."""
    rank, world = distributed.start()
    try:
        run = _prepare(data, out, config, seed, distributed.rank_device(device_name, world), resume, rank, world)
        live = _live_log(run.work / "dvclive", resume) if rank == 0 else None
        _train(run, live, on_epoch)
        return _finish(run, data, out, live)
    finally:
        distributed.stop(world)


def _prepare(
    data: Path, out: Path, config: TrainConfig, seed: int, device: torch.device, resume: bool, rank: int, world: int
) -> Run:
    splits = load_dataset(data)
    card = data / "card.json"
    card_data = json.loads(card.read_text()) if card.exists() else {}
    loss_weights = _loss_weights(card_data, card, device, required=config.class_weights is True)
    torch.manual_seed(seed + rank)
    order = torch.Generator(device=device).manual_seed(seed)
    generator = torch.Generator(device=device).manual_seed(seed + 1 + rank)
    weights = Path(config.weights) if config.weights else None
    model = build_model(config.model, config.width, config.dropout, config.crop, weights).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = optimizer_for(model, config)
    rows = epoch_rows(config, card_data, len(splits["train"]))
    steps = steps_per_epoch(rows, rank, world, config.batch_size)
    run = Run(
        config=config,
        seed=seed,
        rank=rank,
        world=world,
        splits=splits,
        images={name: torch.as_tensor(split.images, device=device) for name, split in splits.items()},
        labels={name: torch.as_tensor(split.labels.astype(np.int64), device=device) for name, split in splits.items()},
        loss_weights=None if config.class_weights is False else loss_weights,
        card_hash=file_sha256(card) if card.exists() else None,
        order=order,
        generator=generator,
        model=model,
        ema=None if config.ema_decay is None else _moving_average(model, config.ema_decay),
        optimizer=optimizer,
        scheduler=make_scheduler(optimizer, config, steps),
        work=open_workdir(out, data, resume) if rank == 0 else out / WORK,
        epoch_rows=rows,
        steps_per_epoch=steps,
    )
    distributed.barrier(world)  # the work directory is ready before any rank reads a checkpoint from it
    if resume:
        _restore(run, resume_state(run.work / "last.pt", out / "last.pt", config, device))
    return run


def _moving_average(model: torch.nn.Module, decay: float) -> AveragedModel:
    """The weights' (and BatchNorm statistics') moving average. Its decay warms up as timm's ModelEmaV2's does,
    min(decay, (1 + n) / (10 + n)) at the n-th update: early on it follows the weights, which the first high-lr
    steps move far (a plain 0.99 average of them stayed at chance for 7 of 18 epochs). The decay stays a tensor
    on the device, so an update never waits for the GPU."""

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], updates: torch.Tensor) -> None:
        if not torch.is_floating_point(averaged[0]):  # BatchNorm's batch counters
            torch._foreach_copy_(averaged, current)
            return
        kept = ((1 + updates) / (10 + updates)).clamp(max=decay)
        torch._foreach_mul_(averaged, kept)
        torch._foreach_add_(averaged, torch._foreach_mul(current, 1 - kept))

    return AveragedModel(model, multi_avg_fn=update, use_buffers=True)


def _restore(run: Run, state: dict) -> None:
    run.scored.load_state_dict(state["model"])
    if run.ema is not None:
        run.model.load_state_dict(state["trained_model"])
        run.ema.n_averaged.fill_(state["ema_updates"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    run.order.set_state(state["order"].to("cpu"))
    run.generator.set_state(state["generator"].to("cpu"))
    torch.set_rng_state(state["torch_rng"])
    run.start, run.best, run.best_epoch, run.history = (
        state["epoch"] + 1,
        state["best_val_top1"],
        state["best_epoch"],
        state["history"],
    )


def _live_log(folder: Path, resume: bool) -> "Live | None":
    """DVCLive's logger (per-epoch metrics, confusion-matrix plot data), or None without DVCLive: it comes with
    DVC in the `pipeline` extra, and a training run outside the pipeline does without it."""
    try:
        from dvclive import Live
    except ImportError:
        return None
    return Live(str(folder), resume=resume, save_dvc_exp=False, dvcyaml=False)


def _train(run: Run, live: "Live | None", on_epoch: OnEpoch | None) -> None:
    config = run.config
    step = DistributedDataParallel(run.model) if run.world > 1 else run.model
    step = torch.compile(step) if config.compile else step
    validated = step if run.ema is None else run.ema.module
    progress = TrainingProgress(config.epochs, run.steps_per_epoch, run.epoch_rows, shown=run.rank == 0)
    for epoch in range(run.start, config.epochs):
        progress.start_epoch(epoch)
        train_loss, train_top1 = _train_epoch(step, run, epoch, progress.step)
        val_logits, val_loss = logits_and_loss(validated, run.images["val"], run.labels["val"], config)
        val_top1 = float((val_logits.argmax(1) == run.splits["val"].labels).mean())
        if config.schedule == "plateau":
            run.scheduler.step(val_top1)
        run.history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "train_top1": train_top1,
                "val_loss": val_loss,
                "val_top1": val_top1,
                "lr": run.optimizer.param_groups[0]["lr"],
            }
        )
        progress.end_epoch(run.history[-1])
        improved = val_top1 > run.best  # best.pt changes only on a strict improvement: ties keep the earlier epoch
        if improved:
            run.best, run.best_epoch = val_top1, epoch
        if run.rank == 0:
            _save_epoch(run, epoch, improved, live)
        if on_epoch:
            on_epoch(epoch, val_top1)
        if config.early_stopping and epoch - run.best_epoch >= config.early_stopping:
            break


def _save_epoch(run: Run, epoch: int, improved: bool, live: "Live | None") -> None:
    state = {
        "model": run.scored.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "order": run.order.get_state(),
        "generator": run.generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "epoch": epoch,
        "best_val_top1": run.best,
        "best_epoch": run.best_epoch,
        "history": run.history,
        "config": run.config.model_dump(),
        "class_names": list(CLASS_NAMES),
        "data_card_sha256": run.card_hash,
        "seed": run.seed,
    }
    if run.ema is not None:  # resuming needs the weights the optimizer moves too
        state |= {"trained_model": run.model.state_dict(), "ema_updates": int(run.ema.n_averaged)}
    if improved:
        save(state, run.work / "best.pt")
    save(state, run.work / "last.pt")
    write_json(run.work / "history.json", {"epochs": run.history})
    if live is None:
        return
    for key, value in run.history[-1].items():
        if key != "epoch":
            live.log_metric(key.replace("_", "/", 1), value)
    live.next_step()


def _train_epoch(model, run: Run, epoch: int, on_step: Callable[[], None]) -> tuple[float, float]:
    """One epoch of this rank's share of the training rows; returns the global mean loss and top-1."""
    images, labels, config = run.images["train"], run.labels["train"], run.config
    model.train()
    if config.epoch_size == "variant":
        order = torch.randperm(len(labels), device=images.device, generator=run.order)
    else:
        order = source_epoch_order(len(labels), run.epoch_rows, epoch, run.seed, images.device)
    order = order[run.rank :: run.world]
    batch_size = max(1, config.batch_size // run.world)
    totals = torch.zeros(3, device=images.device)  # loss sum, correct, seen: summed on the device
    for first in range(0, len(order), batch_size):
        batch = order[first : first + batch_size]
        x, y = training_view(images[batch], labels[batch], config, run.generator)
        with autocast(images.device, config):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y, weight=run.loss_weights)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        if run.ema is not None:
            run.ema.update_parameters(run.model)
        if config.schedule == "cosine":
            run.scheduler.step()
        on_step()
        correct = (logits.detach().argmax(1) == y).sum()
        totals += torch.stack([loss.detach() * len(y), correct, torch.tensor(len(y), device=images.device)])
    if run.world > 1:
        torch.distributed.all_reduce(totals)
    loss_sum, correct_sum, seen = totals.tolist()  # the epoch's one read from the device
    return loss_sum / seen, correct_sum / seen


def training_view(images, labels, config: TrainConfig, generator) -> tuple[torch.Tensor, torch.Tensor]:
    pixels = warp(images, config.augment, generator)
    if config.ten_crop:
        crops = erase(ten_crop(pixels, config.crop), config.augment, generator)
        return layout(crops, config), labels.repeat_interleave(10)
    return layout(random_crop(pixels, config.crop, generator), config), labels


def _finish(run: Run, data: Path, out: Path, live: "Live | None") -> dict:
    """The best epoch scored on val and test; rank 0 writes the metrics and figures and moves the work
    folder into OUT."""
    distributed.barrier(run.world)  # best.pt is complete before any rank reads it
    state = torch.load(run.work / "best.pt", map_location=run.images["val"].device, weights_only=False)
    run.model.load_state_dict(state["model"])
    distributed.barrier(run.world)  # every rank holds best.pt before rank 0 moves the work folder into OUT
    metrics = {
        "data": str(data),
        "train_rows": len(run.splits["train"]),
        "test_sha256": file_sha256(data / "test.npz"),  # compare checks every row scored the same test split
        "epochs_run": len(run.history),
        "best_epoch": run.best_epoch,
        # The budget: the same for every variant of one dataset when epochs are the source's size.
        "steps": len(run.history) * run.steps_per_epoch,
        "images_seen": len(run.history) * run.epoch_rows,
        "epochs_equivalent": round(len(run.history) * run.epoch_rows / max(1, len(run.splits["train"])), 4),
        "val_top1_final_rise": round(final_rise([epoch["val_top1"] for epoch in run.history]), 4),
    }
    logits = {}
    for name in ("val", "test"):
        logits[name], loss = logits_and_loss(run.model, run.images[name], run.labels[name], run.config)
        metrics[name] = scores(logits[name], run.splits[name].labels.astype(np.int64), loss)
    metrics["per_class"] = metrics["test"]["per_class"]
    if run.rank == 0:
        write_json(run.work / "metrics.json", metrics)
        _write_figures(run, logits["test"], live)
        commit(run.work, out)
    return metrics


def _write_figures(run: Run, test_logits: np.ndarray, live: "Live | None") -> None:
    test = run.splits["test"]
    test_labels = test.labels.astype(np.int64)
    write_reports(run.work, run.model, test.images, test_labels, test_logits, run.config.crop)
    if live is None:
        return
    names = np.array(CLASS_NAMES)
    for normalized in (False, True):
        live.log_sklearn_plot(
            "confusion_matrix",
            names[test_labels],
            names[test_logits.argmax(1)],
            name="confusion_matrix_normalized.json" if normalized else "confusion_matrix.json",
            normalized=normalized,
        )
    live.end()


def optimizer_for(model, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=config.weight_decay,
        )
    return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def _loss_weights(card: dict, where: Path, device: torch.device, required: bool) -> torch.Tensor | None:
    """The class weights a class_weight variant's card carries (None when it has none and none are required)."""
    weights = card.get("class_weights")
    if weights is None and required:
        raise FerdataError(f"{where}: no class_weights (build the class_weight variant, or set class_weights false)")
    return None if weights is None else torch.tensor(weights, dtype=torch.float32, device=device)
