"""Benchmark: training images/s and seconds per FER2013-size epoch (28,709 images) of the paper recipe
(VGGNet, ten-crop, batch 64) on whatever device exists, against the obvious baseline in the same run: the
same model fed by a per-image CPU augmentation loop (numpy/Pillow, as a torchvision pipeline would).

Usage: python benchmarks/train_throughput.py [--steps N] [--profile paper|cpu-smoke]
Goal on one H100: >= 25,000 training images/s.
"""

import argparse
import time

import numpy as np
import torch
from PIL import Image

from _measure import machine
from ferdata.device import pick_device
from ferdata.recipe import PROFILES
from trainer.forward import autocast, layout
from trainer.loop import optimizer_for, training_view
from trainer.models import build_model

FER_TRAIN = 28709


def _steps_per_second(step, steps: int, device: torch.device) -> float:
    step()  # warm-up (kernel selection, compile)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--profile", default="paper")
    args = parser.parse_args()
    print(machine())
    device = pick_device("auto")
    config = PROFILES[args.profile]
    model = build_model(config.model, config.width, config.dropout, config.crop).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = optimizer_for(model, config)
    generator = torch.Generator(device=device).manual_seed(0)
    images = torch.randint(0, 256, (4096, 48, 48), dtype=torch.uint8, device=device)
    labels = torch.randint(0, 7, (4096,), device=device)
    host_images = images.cpu().numpy()

    def train_on(x: torch.Tensor, y: torch.Tensor) -> None:
        with autocast(device, config):
            logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def on_device() -> None:
        batch = torch.randint(0, len(labels), (config.batch_size,), device=device, generator=generator)
        train_on(*training_view(images[batch], labels[batch], config, generator))

    def per_image_cpu() -> None:  # the baseline: augment each image on the CPU, then copy the batch over
        batch = np.random.randint(0, len(host_images), config.batch_size)
        crops = []
        for image in host_images[batch]:
            pil = Image.fromarray(image).rotate(np.random.uniform(-10, 10))
            if np.random.rand() < 0.5:
                pil = pil.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            array = np.asarray(pil, dtype=np.float32) / 255
            crops += [
                array[y : y + config.crop, x : x + config.crop] for y, x in ((0, 0), (0, 8), (8, 0), (8, 8), (4, 4))
            ]
            crops += [c[:, ::-1] for c in crops[-5:]]
        x = torch.as_tensor(np.stack(crops)[:, None].copy(), device=device)
        n = 10 if config.ten_crop else 1
        train_on(layout(x[:: 10 // n], config), labels[torch.as_tensor(batch, device=device)].repeat_interleave(n))

    print(
        f"device: {device}; profile {args.profile}: {config.model} width {config.width}, batch {config.batch_size}, "
        f"ten-crop {config.ten_crop}"
    )
    rates = {}
    for name, step in (("ferdata (augment on device)", on_device), ("per-image CPU augmentation", per_image_cpu)):
        rates[name] = _steps_per_second(step, args.steps, device) * config.batch_size
        print(f"{name:30} {rates[name]:10,.0f} images/s  {FER_TRAIN / rates[name]:8.1f} s per FER2013 epoch")
    ours, baseline = rates.values()
    print(f"ratio: {ours / baseline:.2f}x")


if __name__ == "__main__":
    main()
