"""Score a checkpoint on a dataset's val and test splits, with or without ten-crop averaging.

python -m trainer.evaluate --checkpoint models/smote/seed0/best.pt --data data/variants/smote [--ten-crop]
"""

from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer

from ferdata.card import write_json
from ferdata.device import pick_device
from ferdata.recipe import TrainConfig
from ferdata.store import load_dataset
from trainer.checkpoint import load_checkpoint
from trainer.forward import logits_and_loss
from trainer.metrics import scores
from trainer.options import DataOption, DeviceOption, command_line, run

CheckpointOption = Annotated[Path, typer.Option(help="a ferdata checkpoint (models/VARIANT/best.pt)")]


def split_logits(model: torch.nn.Module, config: TrainConfig, data: Path, device: torch.device) -> dict:
    """Per split: (logits, labels, mean loss) of val and test."""
    splits = load_dataset(data)
    result = {}
    for name in ("val", "test"):
        images = torch.as_tensor(splits[name].images, device=device)
        labels = splits[name].labels.astype(np.int64)
        logits, loss = logits_and_loss(model, images, torch.as_tensor(labels, device=device), config)
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


app = command_line(__doc__.split("\n\n")[0])


@app.command()
def score(
    checkpoint: CheckpointOption,
    data: DataOption,
    out: Annotated[Path | None, typer.Option(help="metrics file to write [default: print only]")] = None,
    ten_crop: Annotated[bool | None, typer.Option("--ten-crop/--no-ten-crop", help="[default: as trained]")] = None,
    device: DeviceOption = "auto",
) -> None:
    """Score CHECKPOINT on DATA's val and test splits."""
    metrics = evaluate(checkpoint, data, device, ten_crop)
    if out:
        write_json(out, metrics)
    for name in ("val", "test"):
        m = metrics[name]
        print(f"{name}: top-1 {m['top1']:.4f} top-2 {m['top2']:.4f} top-3 {m['top3']:.4f} macro-F1 {m['macro_f1']:.4f}")


if __name__ == "__main__":
    run(app)
