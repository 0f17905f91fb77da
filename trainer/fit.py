"""Train and score a network on one dataset variant.

    python -m trainer.fit --data data/variants/smote --out models/smote [--profile cpu-smoke] [--resume]

The uint8 dataset lives on the training device and is augmented there in batches (trainer.augment); losses
and accuracies are summed on the device and read once per epoch. Writes OUT/last.pt and OUT/best.pt (model,
optimizer, scheduler, epoch, RNG states, the config, class names and the data card's hash), OUT/history.json
(per epoch: loss, top-1 train/val, lr) and OUT/metrics.json (val and test scores of the best checkpoint).
"""

import argparse
import json
import sys
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ferdata.atomic import atomic_file
from ferdata.card import file_sha256, write_json
from ferdata.errors import FerdataError
from ferdata.labels import CLASS_NAMES
from ferdata.params import load_params
from ferdata.store import load_dataset
from trainer.augment import centre_crop, erase, random_crop, ten_crop, warp
from trainer.config import PROFILES, TrainConfig
from trainer.metrics import scores
from trainer.models import build_model

EVAL_BATCH = 256


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FerdataError(f"device {name!r} asked for, but this machine has no CUDA GPU (use --device cpu)")
    return device


def fit(data: Path, out: Path, config: TrainConfig, seed: int, device_name: str = "auto", resume: bool = False) -> dict:
    """Train, keep the best epoch by validation top-1, score it on val and test; returns the metrics."""
    device = pick_device(device_name)
    splits = load_dataset(data)
    images = {name: torch.as_tensor(split.images, device=device) for name, split in splits.items()}
    labels = {name: torch.as_tensor(split.labels.astype(np.int64), device=device) for name, split in splits.items()}
    card = data / "card.json"
    card_hash = file_sha256(card) if card.exists() else None
    loss_weights = _loss_weights(card, device) if config.class_weights else None

    torch.manual_seed(seed)
    generator = torch.Generator(device=device).manual_seed(seed)
    weights = Path(config.weights) if config.weights else None
    model = build_model(config.model, config.width, config.dropout, config.crop, weights).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(model, config)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=config.plateau_factor, patience=config.plateau_patience
    )
    start, best, history = 0, -1.0, []
    if resume:
        state = _load_checkpoint(out / "last.pt", config, device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"].to("cpu"))
        torch.set_rng_state(state["torch_rng"])
        start, best, history = state["epoch"] + 1, state["best_val_top1"], state["history"]
    step = torch.compile(model) if config.compile else model

    out.mkdir(parents=True, exist_ok=True)
    for epoch in range(start, config.epochs):
        train_loss, train_top1 = _train_epoch(
            step, images["train"], labels["train"], optimizer, config, generator, loss_weights
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
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "epoch": epoch,
            "best_val_top1": max(best, val_top1),
            "history": history,
            "config": config.model_dump(),
            "class_names": list(CLASS_NAMES),
            "data_card_sha256": card_hash,
            "seed": seed,
        }
        if val_top1 > best:
            best = val_top1
            _save(state, out / "best.pt")
        _save(state, out / "last.pt")
        write_json(out / "history.json", {"epochs": history})
        stale = epoch - max(h["epoch"] for h in history if h["val_top1"] == best)
        if config.early_stopping and stale >= config.early_stopping:
            break

    model.load_state_dict(torch.load(out / "best.pt", map_location=device, weights_only=False)["model"])
    metrics = {"data": str(data), "best_epoch": max(h["epoch"] for h in history if h["val_top1"] == best)}
    for name in ("val", "test"):
        logits, loss = predict(model, images[name], labels[name], config)
        metrics[name] = scores(logits, splits[name].labels.astype(np.int64), loss)
    write_json(out / "metrics.json", metrics)
    return metrics


def _train_epoch(model, images, labels, optimizer, config: TrainConfig, generator, loss_weights) -> tuple[float, float]:
    model.train()
    n = len(labels)
    order = torch.randperm(n, device=images.device, generator=generator)
    loss_sum = torch.zeros((), device=images.device)
    correct = torch.zeros((), device=images.device)
    seen = 0
    for first in range(0, n, config.batch_size):
        batch = order[first : first + config.batch_size]
        x, y = _training_view(images[batch], labels[batch], config, generator)
        with _autocast(images.device, config):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y, weight=loss_weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * len(y)  # summed on the device: no host sync per batch
        correct += (logits.detach().argmax(1) == y).sum()
        seen += len(y)
    return float(loss_sum) / seen, float(correct) / seen


def _training_view(images, labels, config: TrainConfig, generator) -> tuple[torch.Tensor, torch.Tensor]:
    pixels = warp(images, config.augment, generator)
    if config.ten_crop:
        crops = erase(ten_crop(pixels, config.crop), config.augment, generator)
        return _layout(crops, config), labels.repeat_interleave(10)
    return _layout(random_crop(pixels, config.crop, generator), config), labels


@torch.no_grad()
def predict(model, images: torch.Tensor, labels: torch.Tensor, config: TrainConfig) -> tuple[np.ndarray, float]:
    """Logits (N, 7) as numpy, averaged over ten crops when the recipe uses them, and the mean loss."""
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
    logits = torch.cat(outputs) if outputs else torch.zeros((0, len(CLASS_NAMES)), device=images.device)
    loss = float(F.cross_entropy(logits, labels)) if len(labels) else 0.0
    return logits.cpu().numpy(), loss


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


def _loss_weights(card: Path, device: torch.device) -> torch.Tensor:
    weights = json.loads(card.read_text()).get("class_weights") if card.exists() else None
    if weights is None:
        raise FerdataError(f"{card}: no class_weights (build the class_weight variant, or set class_weights false)")
    return torch.tensor(weights, dtype=torch.float32, device=device)


def _load_checkpoint(path: Path, config: TrainConfig, device: torch.device) -> dict:
    if not path.exists():
        raise FerdataError(f"{path}: no checkpoint to resume from")
    state = torch.load(path, map_location=device, weights_only=False)
    saved = {k: v for k, v in state.get("config", {}).items() if k != "epochs"}  # more epochs may be asked for
    if saved != config.model_dump(exclude={"epochs"}):
        raise FerdataError(f"{path}: was trained with another config; resume with the same profile and options")
    return state


def _save(state: dict, path: Path) -> None:
    with atomic_file(path) as tmp:
        torch.save(state, tmp)


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
    params = load_params(Path("params.yaml")) if Path("params.yaml").exists() else None
    try:
        config = PROFILES[args.profile or (params.profile if params else "cpu-smoke")]
        if args.epochs:
            config = config.model_copy(update={"epochs": args.epochs})
        seed = args.seed if args.seed is not None else (params.seed if params else 0)
        metrics = fit(args.data, args.out, config, seed, args.device, args.resume)
    except FerdataError as exc:
        print(f"trainer: error: {exc}", file=sys.stderr)
        sys.exit(1)
    test = metrics["test"]
    print(f"test top-1 {test['top1']:.4f}, top-3 {test['top3']:.4f}, macro-F1 {test['macro_f1']:.4f} -> {args.out}")


if __name__ == "__main__":
    main()
