"""The PNG figures of dataset cards, drawn with matplotlib's Agg backend (same bytes for the same data)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ferdata.labels import CLASS_NAMES
from ferdata.outputs import atomic_file
from ferdata.store import Split

_METADATA = {"Software": None}  # no version string in the file: bytes depend on the data only


def class_counts_chart(before: list[int], after: list[int], title: str, path: Path) -> None:
    """Grouped bars: class counts of the training split before and after a variant's steps."""
    figure, axes = plt.subplots(figsize=(8, 3.5), dpi=100)
    x = np.arange(len(CLASS_NAMES))
    axes.bar(x - 0.2, before, 0.4, label="before", color="#9aa5b1")
    axes.bar(x + 0.2, after, 0.4, label="after", color="#2f6db5")
    axes.set_xticks(x, CLASS_NAMES)
    axes.set_ylabel("training images")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    save_figure(figure, path)


def sample_grid(split: Split, path: Path, per_kind: int = 6) -> None:
    """Per class, the first real images beside the first synthetic ones (left: real, right: synthetic)."""
    side = split.images.shape[1]
    blank = np.full((side, side), 255, np.uint8)
    rows = []
    for label in range(len(CLASS_NAMES)):
        of_class = split.labels == label
        real = split.images[of_class & (split.origin == "")][:per_kind]
        made = split.images[of_class & (split.origin != "")][:per_kind]
        cells = [*real, *[blank] * (per_kind - len(real)), blank, *made, *[blank] * (per_kind - len(made))]
        rows.append(np.concatenate(cells, axis=1))
    figure, axes = plt.subplots(figsize=(8, 5.5), dpi=100)
    axes.imshow(np.concatenate(rows, axis=0), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axes.set_yticks(np.arange(len(CLASS_NAMES)) * side + side / 2, CLASS_NAMES)
    axes.set_xticks([per_kind * side / 2, (1.5 * per_kind + 1) * side], ["real", "synthetic"])
    axes.tick_params(length=0)
    figure.tight_layout()
    save_figure(figure, path)


def save_figure(figure: plt.Figure, path: Path) -> None:
    """Write a figure as PNG, atomically, with no version string in the file (its bytes follow the data)."""
    with atomic_file(path) as tmp:
        figure.savefig(tmp, format="png", metadata=_METADATA)
    plt.close(figure)
