"""What a training run shows while it runs: one line per epoch (epoch/total, train loss and top-1, val top-1,
lr, images/s, time left), printed by rank 0 and flushed, so it reaches `make run`'s and `dvc repro`'s logs; on
a terminal, also a bar within the epoch (Rich), which advances per step without reading anything from the GPU."""

import sys
import time
from datetime import timedelta

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class TrainingProgress:
    def __init__(self, epochs: int, steps_per_epoch: int, images_per_epoch: int, shown: bool) -> None:
        self.epochs, self.steps, self.images = epochs, steps_per_epoch, images_per_epoch
        self.shown = shown
        self.bar = None
        if shown and sys.stdout.isatty():
            epoch = TextColumn("epoch {task.fields[epoch]}")
            self.bar = Progress(epoch, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True)
        self.started: float = 0.0
        self.seconds: list[float] = []

    def start_epoch(self, epoch: int) -> None:
        self.started = time.perf_counter()
        if self.bar is not None:
            self.bar.start()
            self.task = self.bar.add_task("", total=self.steps, epoch=f"{epoch + 1}/{self.epochs}")

    def step(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def end_epoch(self, record: dict) -> None:
        """Print the epoch's line; `record` is the epoch's history entry."""
        self.seconds.append(time.perf_counter() - self.started)
        if self.bar is not None:
            self.bar.stop()
            self.bar.remove_task(self.task)
        if not self.shown:
            return
        epoch, seconds = record["epoch"] + 1, self.seconds[-1]
        left = timedelta(seconds=round(sum(self.seconds) / len(self.seconds) * (self.epochs - epoch)))
        print(
            f"epoch {epoch}/{self.epochs}  train loss {record['train_loss']:.4f} top-1 {record['train_top1']:.4f}  "
            f"val top-1 {record['val_top1']:.4f}  lr {record['lr']:.3g}  "
            f"{self.images / max(seconds, 1e-9):,.0f} images/s  left {left}",
            flush=True,
        )
