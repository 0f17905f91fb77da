"""What a training run shows a person: confusion matrices (counts and row-normalised), a classification
report, a grid of misclassified test images and saliency maps, written beside the checkpoints."""

from pathlib import Path

import numpy as np
import torch

from ferdata.labels import CLASS_NAMES
from ferdata.outputs import atomic_file
from ferdata.plots import plt, save_figure
from trainer.augment import centre_crop
from trainer.metrics import classification_text, confusion


def write_reports(
    out: Path, model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, logits: np.ndarray, crop: int
):
    """All figures and the text report for the test split."""
    predicted = logits.argmax(1)
    confusion_png(confusion(labels, predicted), out / "confusion_matrix.png")
    with atomic_file(out / "classification_report.txt") as tmp:
        tmp.write_text(classification_text(labels, predicted))
    wrong = np.flatnonzero(predicted != labels)[:32]
    misclassified_png(images[wrong], labels[wrong], predicted[wrong], out / "misclassified.png")
    saliency_png(model, images[:8], labels[:8], crop, out / "saliency.png")


def confusion_png(counts: np.ndarray, path: Path) -> None:
    rows = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    figure, axes = plt.subplots(1, 2, figsize=(12, 5), dpi=100)
    for ax, values, title, fmt in ((axes[0], counts, "counts", "d"), (axes[1], rows, "row-normalised", ".2f")):
        ax.imshow(values, cmap="Blues")
        ax.set_xticks(range(7), CLASS_NAMES, rotation=45, ha="right")
        ax.set_yticks(range(7), CLASS_NAMES)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"test confusion matrix ({title})")
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=8)
    figure.tight_layout()
    save_figure(figure, path)


def misclassified_png(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray, path: Path) -> None:
    columns = 8
    rows = max(1, -(-len(images) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.4, rows * 1.6), dpi=100, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, true, guess in zip(axes.ravel(), images, labels, predicted, strict=False):
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{CLASS_NAMES[true]}\n-> {CLASS_NAMES[guess]}", fontsize=7)
    _grid_layout(figure, title_lines=2)
    save_figure(figure, path)


def saliency_png(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, crop: int, path: Path) -> None:
    """Gradient of the true class's logit with respect to each pixel of the centre crop (vanilla saliency)."""
    device = next(model.parameters()).device
    model.eval()
    pixels = centre_crop(torch.as_tensor(images, device=device)[:, None].float() / 255, crop).requires_grad_(True)
    logits = model(pixels)
    logits.gather(1, torch.as_tensor(labels, device=device, dtype=torch.long)[:, None]).sum().backward()
    saliency = pixels.grad.abs()[:, 0].cpu().numpy()
    figure, axes = plt.subplots(2, len(images), figsize=(len(images) * 1.4, 3), dpi=100, squeeze=False)
    for i in range(len(images)):
        axes[0, i].imshow(pixels[i, 0].detach().cpu().numpy(), cmap="gray", vmin=0, vmax=1)
        axes[0, i].set_title(CLASS_NAMES[labels[i]], fontsize=7)
        axes[1, i].imshow(saliency[i], cmap="inferno")
        for ax in axes[:, i]:
            ax.axis("off")
    _grid_layout(figure, title_lines=1)
    save_figure(figure, path)


def _grid_layout(figure: plt.Figure, title_lines: int) -> None:
    """Fixed margins for a grid of untitled-axis images: tight_layout measures every axis and takes seconds."""
    height = figure.get_size_inches()[1]
    rows = figure.axes[0].get_subplotspec().get_gridspec().nrows
    title = title_lines * 0.16 / (height / rows)  # 7-point title lines, as a share of one row's height
    figure.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - title / rows, wspace=0.05, hspace=1.5 * title)
