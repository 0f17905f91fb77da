"""Average the softmax of several checkpoints (e.g. the ros, smote and smotetomek models) and score it.

python -m trainer.ensemble --checkpoints models/ros/best.pt models/smote/best.pt --data DIR --out FILE
"""

import argparse
from pathlib import Path

import numpy as np

from ferdata.card import write_json
from ferdata.errors import FerdataError, exit_on_error
from trainer.evaluate import load_checkpoint, split_logits
from trainer.fit import pick_device
from trainer.metrics import scores, softmax


def ensemble(checkpoints: list[Path], data: Path, device_name: str = "auto") -> dict:
    """Scores of the mean softmax over `checkpoints`, in the metrics file's format."""
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
    metrics = {"data": str(data), "checkpoints": [str(p) for p in checkpoints]}
    for name, members in probabilities.items():
        mean = np.mean(members, axis=0)
        log_mean = np.log(np.clip(mean, 1e-12, None))
        loss = float(-log_mean[np.arange(len(labels[name])), labels[name]].mean()) if len(labels[name]) else 0.0
        metrics[name] = scores(log_mean, labels[name], loss)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m trainer.ensemble", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", type=Path, nargs="+", required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    with exit_on_error("trainer"):
        metrics = ensemble(args.checkpoints, args.data, args.device)
        write_json(args.out, metrics)
    print(f"ensemble of {len(args.checkpoints)}: test top-1 {metrics['test']['top1']:.4f} -> {args.out}")


if __name__ == "__main__":
    main()
