"""Train and score a network on one dataset variant.

    python -m trainer.fit --data data/variants/smote --out models/smote [--profile cpu-smoke] [--resume]

The uint8 dataset lives on the training device and is augmented there in batches (trainer.augment); losses
and accuracies are summed on the device and read once per epoch. Writes OUT/last.pt and OUT/best.pt (model,
optimizer, scheduler, epoch, RNG states, the config, class names and the data card's hash), OUT/history.json
(per epoch: loss, top-1 train/val, lr), OUT/metrics.json (val and test scores of the best checkpoint), the
DVCLive log OUT/dvclive/ (per-epoch metrics and confusion-matrix plot data), and trainer.report's figures.

Several GPUs: `torchrun --nproc_per_node N -m trainer.fit ...` trains with DistributedDataParallel (NCCL on
GPUs, gloo on CPUs). Every rank draws the same seeded permutation and takes every N-th row of it, so the
ranks share the global batch; rank 0 writes the outputs.
"""

import argparse
import json
import os
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from dvclive import Live
from pydantic import ValidationError
from torch.nn.parallel import DistributedDataParallel

from ferdata.card import file_sha256, write_json
from ferdata.errors import FerdataError, exit_on_error
from ferdata.labels import CLASS_NAMES
from ferdata.outputs import atomic_file
from ferdata.params import Params, describe, load_params
from ferdata.store import load_dataset
from trainer.augment import centre_crop, erase, random_crop, ten_crop, warp
from trainer.config import PROFILES, TrainConfig
from trainer.metrics import scores
from trainer.models import build_model
from trainer.report import write_reports
from trainer.workdir import WORK, commit, open_workdir

EVAL_BATCH = 256


def recipe(profile: str, overrides: dict) -> TrainConfig:
    """A profile with params.yaml's `train:` overrides put over it, validated."""
    try:
        return TrainConfig.model_validate(PROFILES[profile].model_dump() | overrides)
    except ValidationError as exc:
        raise FerdataError(f"params.yaml: train.{describe(exc)}") from None


def recipe_and_seed(profile: str | None, epochs: int | None, seed: int | None) -> tuple[TrainConfig, int]:
    """A command line's recipe and seed: ./params.yaml's (when there is one) under the options given."""
    params = load_params(Path("params.yaml")) if Path("params.yaml").exists() else Params()
    config = recipe(profile or params.profile, params.train)
    if epochs:
        config = config.model_copy(update={"epochs": epochs})
    return config, params.seed if seed is None else seed


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FerdataError(f"device {name!r} asked for, but this machine has no CUDA GPU (use --device cpu)")
    return device


def fit(
    data: Path,
    out: Path,
    config: TrainConfig,
    seed: int,
    device_name: str = "auto",
    resume: bool = False,
    on_epoch: Callable[[int, float], None] | None = None,
) -> dict:
    """Train, keep the best epoch by validation top-1, score it on val and test; returns the metrics.
    `on_epoch(epoch, val_top1)` is called after each epoch (the tuner prunes poor trials from it)."""
    rank, world = _start_distributed()
    try:
        return _fit(data, out, config, seed, device_name, resume, on_epoch, rank, world)
    finally:
        if world > 1:
            dist.destroy_process_group()


def _start_distributed() -> tuple[int, int]:
    """(rank, world size): under torchrun, join the process group; otherwise (0, 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _fit(
    data: Path,
    out: Path,
    config: TrainConfig,
    seed: int,
    device_name: str,
    resume: bool,
    on_epoch: Callable[[int, float], None] | None,
    rank: int,
    world: int,
) -> dict:
    device = pick_device(device_name)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    splits = load_dataset(data)
    images = {name: torch.as_tensor(split.images, device=device) for name, split in splits.items()}
    labels = {name: torch.as_tensor(split.labels.astype(np.int64), device=device) for name, split in splits.items()}
    card = data / "card.json"
    card_hash = file_sha256(card) if card.exists() else None
    loss_weights = _loss_weights(card, device, required=config.class_weights is True)
    if config.class_weights is False:
        loss_weights = None

    torch.manual_seed(seed + rank)
    order = torch.Generator(device=device).manual_seed(seed)  # the same on every rank
    generator = torch.Generator(device=device).manual_seed(seed + 1 + rank)  # augmentation: per rank
    weights = Path(config.weights) if config.weights else None
    model = build_model(config.model, config.width, config.dropout, config.crop, weights).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(model, config)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=config.plateau_factor, patience=config.plateau_patience
    )
    start, best, best_epoch, history = 0, -1.0, -1, []
    work = open_workdir(out, data, resume) if rank == 0 else out / WORK
    if world > 1:
        dist.barrier()  # the work directory is ready before any rank reads a checkpoint from it
    if resume:
        state = _load_checkpoint(work / "last.pt", out / "last.pt", config, device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        order.set_state(state["order"].to("cpu"))
        generator.set_state(state["generator"].to("cpu"))
        torch.set_rng_state(state["torch_rng"])
        start, best, best_epoch, history = (
            state["epoch"] + 1,
            state["best_val_top1"],
            state["best_epoch"],
            state["history"],
        )
    step = DistributedDataParallel(model) if world > 1 else model
    step = torch.compile(step) if config.compile else step

    live = Live(str(work / "dvclive"), resume=resume, save_dvc_exp=False, dvcyaml=False) if rank == 0 else None
    for epoch in range(start, config.epochs):
        train_loss, train_top1 = _train_epoch(
            step, images["train"], labels["train"], optimizer, config, (order, generator), loss_weights, rank, world
        )
        val_logits, val_loss = predict(step, images["val"], labels["val"], config)
        val_top1 = float((val_logits.argmax(1) == splits["val"].labels).mean())
        scheduler.step(val_top1)
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "train_top1": train_top1,
                "val_loss": val_loss,
                "val_top1": val_top1,
                "lr": optimizer.param_groups[0]["lr"],
            }
        )
        improved = val_top1 > best  # best.pt changes only on a strict improvement: ties keep the earlier epoch
        if improved:
            best, best_epoch = val_top1, epoch
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "order": order.get_state(),
            "generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "epoch": epoch,
            "best_val_top1": best,
            "best_epoch": best_epoch,
            "history": history,
            "config": config.model_dump(),
            "class_names": list(CLASS_NAMES),
            "data_card_sha256": card_hash,
            "seed": seed,
        }
        if rank == 0:
            if improved:
                _save(state, work / "best.pt")
            _save(state, work / "last.pt")
            write_json(work / "history.json", {"epochs": history})
            for key, value in history[-1].items():
                if key != "epoch":
                    live.log_metric(key.replace("_", "/", 1), value)
            live.next_step()
        if on_epoch:
            on_epoch(epoch, val_top1)
        if config.early_stopping and epoch - best_epoch >= config.early_stopping:
            break

    if world > 1:
        dist.barrier()  # best.pt is complete before any rank reads it
    model.load_state_dict(torch.load(work / "best.pt", map_location=device, weights_only=False)["model"])
    if world > 1:
        dist.barrier()  # every rank holds best.pt before rank 0 moves the work folder into OUT
    metrics = {
        "data": str(data),
        "train_rows": len(splits["train"]),
        "test_sha256": file_sha256(data / "test.npz"),  # compare checks every row scored the same test split
        "epochs_run": len(history),
        "best_epoch": best_epoch,
    }
    logits = {}
    for name in ("val", "test"):
        logits[name], loss = predict(model, images[name], labels[name], config)
        metrics[name] = scores(logits[name], splits[name].labels.astype(np.int64), loss)
    metrics["per_class"] = metrics["test"]["per_class"]
    if rank == 0:
        write_json(work / "metrics.json", metrics)
        test_labels = splits["test"].labels.astype(np.int64)
        write_reports(work, model, splits["test"].images, test_labels, logits["test"], config.crop)
        names = np.array(CLASS_NAMES)
        for normalized in (False, True):
            name = "confusion_matrix_normalized.json" if normalized else "confusion_matrix.json"
            live.log_sklearn_plot(
                "confusion_matrix",
                names[test_labels],
                names[logits["test"].argmax(1)],
                name=name,
                normalized=normalized,
            )
        live.end()
        commit(work, out)
    return metrics


def _train_epoch(
    model, images, labels, optimizer, config: TrainConfig, generators, loss_weights, rank: int, world: int
) -> tuple[float, float]:
    """One pass over this rank's share of the training split; returns the global mean loss and top-1."""
    order_generator, generator = generators
    model.train()
    order = torch.randperm(len(labels), device=images.device, generator=order_generator)[rank::world]
    batch_size = max(1, config.batch_size // world)
    totals = torch.zeros(3, device=images.device)  # loss sum, correct, seen: summed on the device
    for first in range(0, len(order), batch_size):
        batch = order[first : first + batch_size]
        x, y = _training_view(images[batch], labels[batch], config, generator)
        with _autocast(images.device, config):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y, weight=loss_weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        correct = (logits.detach().argmax(1) == y).sum()
        totals += torch.stack([loss.detach() * len(y), correct, torch.tensor(len(y), device=images.device)])
    if world > 1:
        dist.all_reduce(totals)
    loss_sum, correct_sum, seen = totals.tolist()  # the epoch's one read from the device
    return loss_sum / seen, correct_sum / seen


def _training_view(images, labels, config: TrainConfig, generator) -> tuple[torch.Tensor, torch.Tensor]:
    pixels = warp(images, config.augment, generator)
    if config.ten_crop:
        crops = erase(ten_crop(pixels, config.crop), config.augment, generator)
        return _layout(crops, config), labels.repeat_interleave(10)
    return _layout(random_crop(pixels, config.crop, generator), config), labels


def predict(model, images: torch.Tensor, labels: torch.Tensor, config: TrainConfig) -> tuple[np.ndarray, float]:
    """Logits (N, 7) as numpy, averaged over ten crops when the recipe uses them, and the mean loss."""
    logits = logits_of(model, images, config)
    loss = float(F.cross_entropy(logits, labels)) if len(labels) else 0.0
    return logits.cpu().numpy(), loss


@torch.no_grad()
def logits_of(model, images: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """(N, 48, 48) uint8 faces -> (N, 7) float logits, in batches, averaged over ten crops when the recipe
    uses them (otherwise of the centre crop)."""
    model.eval()
    outputs = []
    for first in range(0, len(images), EVAL_BATCH):
        pixels = images[first : first + EVAL_BATCH][:, None].float() / 255
        with _autocast(images.device, config):
            if config.ten_crop:
                logits = model(_layout(ten_crop(pixels, config.crop), config)).float()
                logits = logits.view(len(pixels), 10, -1).mean(1)
            else:
                logits = model(_layout(centre_crop(pixels, config.crop), config)).float()
        outputs.append(logits)
    return torch.cat(outputs) if outputs else torch.zeros((0, len(CLASS_NAMES)), device=images.device)


def _layout(x: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if config.channels_last else x


def _autocast(device: torch.device, config: TrainConfig):
    if config.mixed_precision and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def _optimizer(model, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=config.weight_decay,
        )
    return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def _loss_weights(card: Path, device: torch.device, required: bool) -> torch.Tensor | None:
    """The class weights a class_weight variant's card carries (None when it has none and none are required)."""
    weights = json.loads(card.read_text()).get("class_weights") if card.exists() else None
    if weights is None and required:
        raise FerdataError(f"{card}: no class_weights (build the class_weight variant, or set class_weights false)")
    return None if weights is None else torch.tensor(weights, dtype=torch.float32, device=device)


def _load_checkpoint(path: Path, shown: Path, config: TrainConfig, device: torch.device) -> dict:
    if not path.exists():
        raise FerdataError(f"{shown}: no checkpoint to resume from")
    state = torch.load(path, map_location=device, weights_only=False)
    saved = {k: v for k, v in state.get("config", {}).items() if k != "epochs"}  # more epochs may be asked for
    if saved != config.model_dump(exclude={"epochs"}):
        raise FerdataError(f"{shown}: was trained with another config; resume with the same profile and options")
    return state


def _save(state: dict, path: Path) -> None:
    # Through a file object: torch.save names the archive's root after a path it is given, and the
    # temporary name is random, so the checkpoint's bytes would differ between runs.
    with atomic_file(path) as tmp, tmp.open("wb") as file:
        torch.save(state, file)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m trainer.fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a ferdata dataset or variant directory")
    parser.add_argument("--out", type=Path, required=True, help="directory for checkpoints and metrics")
    parser.add_argument("--profile", choices=sorted(PROFILES), help="recipe [default: params.yaml profile]")
    parser.add_argument("--epochs", type=int, help="override the profile's epochs")
    parser.add_argument("--seed", type=int, help="[default: params.yaml seed]")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    args = parser.parse_args(argv)
    with exit_on_error("trainer"):
        config, seed = recipe_and_seed(args.profile, args.epochs, args.seed)
        metrics = fit(args.data, args.out, config, seed, args.device, args.resume)
    if int(os.environ.get("RANK", "0")) != 0:
        return
    test = metrics["test"]
    print(f"test top-1 {test['top1']:.4f}, top-3 {test['top3']:.4f}, macro-F1 {test['macro_f1']:.4f} -> {args.out}")


if __name__ == "__main__":
    main()
