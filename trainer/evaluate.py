"""Score a checkpoint on a dataset's val and test splits, with or without ten-crop averaging.

python -m trainer.evaluate --checkpoint models/smote/best.pt --data data/variants/smote [--ten-crop|--no-ten-crop]
"""

import argparse
import pickle
from pathlib import Path

import numpy as np
import torch

from ferdata.card import write_json
from ferdata.errors import FerdataError, exit_on_error, first_line
from ferdata.labels import CLASS_NAMES
from ferdata.store import load_dataset
from trainer.config import TrainConfig
from trainer.fit import pick_device, predict
from trainer.metrics import scores
from trainer.models import build_model


def load_checkpoint(path: Path, device: torch.device) -> tuple[torch.nn.Module, TrainConfig]:
    """The model of a ferdata checkpoint, ready to predict, and the config it was trained with."""
    if not path.is_file():
        raise FerdataError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location=device, weights_only=False)
        config = TrainConfig.model_validate(state["config"])
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise FerdataError(f"{path}: not a ferdata checkpoint ({first_line(exc)})") from None
    names = state.get("class_names")
    if names != list(CLASS_NAMES):
        given = f"{len(names)} classes ({', '.join(map(str, names))})" if isinstance(names, list) else "unnamed classes"
        raise FerdataError(
            f"{path}: a model for {given}; ferdata needs FER2013's {len(CLASS_NAMES)} ({', '.join(CLASS_NAMES)})"
        )
    model = build_model(config.model, config.width, config.dropout, config.crop).to(device)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise FerdataError(f"{path}: weights do not fit a {config.model} ({first_line(exc)})") from None
    return model.eval(), config


def split_logits(model: torch.nn.Module, config: TrainConfig, data: Path, device: torch.device) -> dict:
    """Per split: (logits, labels, mean loss) of val and test."""
    splits = load_dataset(data)
    result = {}
    for name in ("val", "test"):
        images = torch.as_tensor(splits[name].images, device=device)
        labels = splits[name].labels.astype(np.int64)
        logits, loss = predict(model, images, torch.as_tensor(labels, device=device), config)
        result[name] = (logits, labels, loss)
    return result


def evaluate(checkpoint: Path, data: Path, device_name: str = "auto", ten_crop: bool | None = None) -> dict:
    device = pick_device(device_name)
    model, config = load_checkpoint(checkpoint, device)
    if ten_crop is not None:
        config = config.model_copy(update={"ten_crop": ten_crop})
    metrics = {"data": str(data), "checkpoint": str(checkpoint), "ten_crop": config.ten_crop}
    for name, (logits, labels, loss) in split_logits(model, config, data, device).items():
        metrics[name] = scores(logits, labels, loss)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m trainer.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="metrics file to write [default: print only]")
    parser.add_argument("--ten-crop", action=argparse.BooleanOptionalAction, help="[default: as trained]")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    with exit_on_error("trainer"):
        metrics = evaluate(args.checkpoint, args.data, args.device, args.ten_crop)
        if args.out:
            write_json(args.out, metrics)
    for name in ("val", "test"):
        m = metrics[name]
        print(f"{name}: top-1 {m['top1']:.4f} top-2 {m['top2']:.4f} top-3 {m['top3']:.4f} macro-F1 {m['macro_f1']:.4f}")


if __name__ == "__main__":
    main()
