"""Average the softmax of several checkpoints (e.g. the ros, smote and smotetomek models) and score it.

python -m trainer.ensemble --checkpoints models/ros/seed0/best.pt --checkpoints models/smote/seed0/best.pt ...
    --data DIR --out FILE
"""

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ferdata.card import write_json
from ferdata.device import pick_device
from ferdata.errors import FerdataError
from trainer.checkpoint import load_checkpoint
from trainer.evaluate import split_logits
from trainer.metrics import scores, softmax
from trainer.options import DataOption, DeviceOption, command_line, run


def mean_probabilities(checkpoints: list[Path], data: Path, device_name: str = "auto") -> dict:
    """{split: (mean softmax over `checkpoints` (N, 7), labels (N,))} for val and test."""
    if not checkpoints:
        raise FerdataError("an ensemble needs at least one checkpoint")
    device = pick_device(device_name)
    probabilities: dict[str, list[np.ndarray]] = {"val": [], "test": []}
    labels = {}
    for path in checkpoints:
        model, config = load_checkpoint(path, device)
        for name, (logits, split_labels, _) in split_logits(model, config, data, device).items():
            probabilities[name].append(softmax(logits))
            labels[name] = split_labels
    return {name: (np.mean(members, axis=0), labels[name]) for name, members in probabilities.items()}


def ensemble(checkpoints: list[Path], data: Path, device_name: str = "auto") -> dict:
    """Scores of the mean softmax over `checkpoints`, in the metrics file's format."""
    metrics = {"data": str(data), "checkpoints": [str(p) for p in checkpoints]}
    for name, (mean, labels) in mean_probabilities(checkpoints, data, device_name).items():
        log_mean = np.log(np.clip(mean, 1e-12, None))
        loss = float(-log_mean[np.arange(len(labels)), labels].mean()) if len(labels) else 0.0
        metrics[name] = scores(log_mean, labels, loss)
    return metrics


app = command_line(__doc__.split("\n\n")[0])


@app.command()
def score(
    checkpoints: Annotated[list[Path], typer.Option(help="a member checkpoint (repeat for each)")],
    data: DataOption,
    out: Annotated[Path, typer.Option(help="metrics file to write")],
    device: DeviceOption = "auto",
) -> None:
    """Score the mean softmax of CHECKPOINTS on DATA's val and test splits."""
    metrics = ensemble(checkpoints, data, device)
    write_json(out, metrics)
    print(f"ensemble of {len(checkpoints)}: test top-1 {metrics['test']['top1']:.4f} -> {out}")


if __name__ == "__main__":
    run(app)
