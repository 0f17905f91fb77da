"""The network on batches of uint8 faces on the training device: memory layout, autocast, logits and loss."""

from contextlib import nullcontext

import numpy as np
import torch
import torch.nn.functional as F

from ferdata.labels import CLASS_NAMES
from ferdata.recipe import TrainConfig
from trainer.augment import centre_crop, ten_crop

EVAL_BATCH = 256


def layout(x: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if config.channels_last else x


def autocast(device: torch.device, config: TrainConfig):
    if config.mixed_precision and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


@torch.no_grad()
def logits_of(model, images: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """(N, 48, 48) uint8 faces -> (N, 7) float logits, in batches, averaged over ten crops when the recipe
    uses them (otherwise of the centre crop)."""
    model.eval()
    outputs = []
    for first in range(0, len(images), EVAL_BATCH):
        pixels = images[first : first + EVAL_BATCH][:, None].float() / 255
        with autocast(images.device, config):
            if config.ten_crop:
                logits = model(layout(ten_crop(pixels, config.crop), config)).float()
                logits = logits.view(len(pixels), 10, -1).mean(1)
            else:
                logits = model(layout(centre_crop(pixels, config.crop), config)).float()
        outputs.append(logits)
    return torch.cat(outputs) if outputs else torch.zeros((0, len(CLASS_NAMES)), device=images.device)


def logits_and_loss(model, images: torch.Tensor, labels: torch.Tensor, config: TrainConfig) -> tuple[np.ndarray, float]:
    """Logits (N, 7) as numpy and the mean cross-entropy."""
    logits = logits_of(model, images, config)
    loss = float(F.cross_entropy(logits, labels)) if len(labels) else 0.0
    return logits.cpu().numpy(), loss
