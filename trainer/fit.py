"""Train and score a network on one dataset variant (the loop is trainer.loop).

    python -m trainer.fit --data data/variants/smote --out models/smote [--profile cpu-smoke] [--resume]

Several GPUs: `torchrun --nproc_per_node N -m trainer.fit ...` trains with DistributedDataParallel.
"""

from pathlib import Path
from typing import Annotated

import typer

from trainer import distributed
from trainer.loop import fit
from trainer.options import (
    DataOption,
    DeviceOption,
    EpochsOption,
    ProfileOption,
    SeedOption,
    command_line,
    recipe_and_seed,
    run,
)

app = command_line(__doc__.split("\n\n")[0])


@app.command()
def train(
    data: DataOption,
    out: Annotated[Path, typer.Option(help="directory for checkpoints and metrics")],
    profile: ProfileOption = None,
    epochs: EpochsOption = None,
    seed: SeedOption = None,
    device: DeviceOption = "auto",
    resume: Annotated[bool, typer.Option(help="continue from OUT/last.pt")] = False,
) -> None:
    """Train a VGGNet on DATA and score its best epoch on val and test."""
    config, seed = recipe_and_seed(profile, epochs, seed)
    metrics = fit(data, out, config, seed, device, resume)
    if distributed.is_main_process():
        test = metrics["test"]
        print(f"test top-1 {test['top1']:.4f}, top-3 {test['top3']:.4f}, macro-F1 {test['macro_f1']:.4f} -> {out}")


if __name__ == "__main__":
    run(app)
