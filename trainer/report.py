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
    captions = [f"{CLASS_NAMES[true]}\n-> {CLASS_NAMES[guess]}" for true, guess in zip(labels, predicted, strict=True)]
    _tiles_png(_rgb(images / 255, "gray"), captions, columns=8, caption_lines=2, path=path)


def saliency_png(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, crop: int, path: Path) -> None:
    """Gradient of the true class's logit with respect to each pixel of the centre crop (vanilla saliency): the
    crops in the first row, their saliency (each scaled to its maximum) below."""
    device = next(model.parameters()).device
    model.eval()
    pixels = centre_crop(torch.as_tensor(images, device=device)[:, None].float() / 255, crop).requires_grad_(True)
    logits = model(pixels)
    logits.gather(1, torch.as_tensor(labels, device=device, dtype=torch.long)[:, None]).sum().backward()
    saliency = pixels.grad.abs()[:, 0].cpu().numpy()
    saliency /= np.maximum(saliency.max(axis=(1, 2), keepdims=True), 1e-12)
    tiles = np.concatenate([_rgb(pixels.detach()[:, 0].cpu().numpy(), "gray"), _rgb(saliency, "inferno")])
    captions = [CLASS_NAMES[label] for label in labels] + [""] * len(labels)
    _tiles_png(tiles, captions, columns=max(1, len(labels)), caption_lines=1, path=path)


def _rgb(values: np.ndarray, colormap: str) -> np.ndarray:
    """(N, H, W) values 0..1 -> (N, H, W, 3) colours of a matplotlib colormap."""
    return plt.get_cmap(colormap)(values)[..., :3]


_ZOOM = 2.5  # screen pixels per image pixel
_CAPTION_LINE = 12  # screen pixels per 7-point caption line


def _tiles_png(tiles: np.ndarray, captions: list[str], columns: int, caption_lines: int, path: Path) -> None:
    """(N, H, W, 3) images in a grid, each under its caption, drawn as one picture: a matplotlib axes per image
    took most of a second a figure."""
    n, height, width = tiles.shape[:3]
    rows = max(1, -(-n // columns))
    top, gap = round(caption_lines * _CAPTION_LINE / _ZOOM), 2  # image pixels above and beside each tile
    cells = np.ones((rows * columns, top + height, width + gap, 3))
    cells[:n, top:, gap // 2 : gap // 2 + width] = tiles
    canvas = cells.reshape(rows, columns, top + height, width + gap, 3).transpose(0, 2, 1, 3, 4)
    canvas = canvas.reshape(rows * (top + height), columns * (width + gap), 3)
    dpi = 100
    figure = plt.figure(figsize=(canvas.shape[1] * _ZOOM / dpi, canvas.shape[0] * _ZOOM / dpi), dpi=dpi)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.imshow(canvas, interpolation="nearest")
    axes.axis("off")
    for i, caption in enumerate(captions):
        row, column = divmod(i, columns)
        x, y = column * (width + gap) + (width + gap) / 2, row * (top + height) + 0.5
        axes.text(x, y, caption, ha="center", va="top", fontsize=7)
    save_figure(figure, path)
