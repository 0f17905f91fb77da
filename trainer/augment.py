"""Batched augmentation on the training device: the usef-kh/fer recipe as tensor operations, no per-image
loop and no trip to the CPU.

Train: random resized crop (area scale 0.8-1.2, aspect 3/4-4/3), translation (p 0.5, up to 0.2 of the side),
horizontal flip (p 0.5) and rotation (p 0.5, up to 10 degrees), composed into one affine warp per image and
applied with `grid_sample`; then ten 40x40 crops (corners, centre and their mirrors), each with random
erasing (p 0.5), or one random 40x40 crop. Test: the centre crop or the ten crops. Pixels are scaled to 0..1.
"""

import math

import torch
import torch.nn.functional as F

from ferdata.recipe import AugmentConfig


def warp(images: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """(B, H, W) uint8 -> (B, 1, H, W) float 0..1, each image under its own random affine warp."""
    b, device = len(images), images.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(b, device=device, generator=generator)

    def chance(p: float) -> torch.Tensor:
        return torch.rand(b, device=device, generator=generator) < p

    area = uniform(*config.scale)
    aspect = torch.exp(uniform(math.log(config.ratio[0]), math.log(config.ratio[1])))
    width, height = torch.sqrt(area * aspect), torch.sqrt(area / aspect)  # crop size, fraction of the side
    centre_x = uniform(-1, 1) * (1 - width).clamp(min=0)
    centre_y = uniform(-1, 1) * (1 - height).clamp(min=0)
    shift = chance(config.translate_p)
    centre_x = centre_x + shift * uniform(-2 * config.translate, 2 * config.translate)
    centre_y = centre_y + shift * uniform(-2 * config.translate, 2 * config.translate)
    angle = torch.deg2rad(uniform(-config.rotate, config.rotate)) * chance(config.rotate_p)
    flip = torch.where(chance(config.hflip_p), -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [
            torch.stack([width * cos * flip, -height * sin, centre_x], dim=1),
            torch.stack([width * sin * flip, height * cos, centre_y], dim=1),
        ],
        dim=1,
    )
    pixels = images[:, None].float() / 255
    grid = F.affine_grid(theta, list(pixels.shape), align_corners=False)
    return F.grid_sample(pixels, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def ten_crop(pixels: torch.Tensor, crop: int) -> torch.Tensor:
    """(B, 1, H, W) -> (B * 10, 1, crop, crop): corners, centre and their mirrors, crops of one image adjacent."""
    side = pixels.shape[-1]
    end, mid = side - crop, (side - crop) // 2
    crops = [pixels[..., y : y + crop, x : x + crop] for y, x in ((0, 0), (0, end), (end, 0), (end, end), (mid, mid))]
    crops += [c.flip(-1) for c in crops]
    return torch.stack(crops, dim=1).flatten(0, 1)


def centre_crop(pixels: torch.Tensor, crop: int) -> torch.Tensor:
    start = (pixels.shape[-1] - crop) // 2
    return pixels[..., start : start + crop, start : start + crop]


def random_crop(pixels: torch.Tensor, crop: int, generator: torch.Generator) -> torch.Tensor:
    """One random crop per image, by gathering with per-image offsets."""
    b, side = len(pixels), pixels.shape[-1]
    offsets = torch.randint(0, side - crop + 1, (2, b), device=pixels.device, generator=generator)
    rows = (offsets[0][:, None] + torch.arange(crop, device=pixels.device))[:, :, None]
    cols = (offsets[1][:, None] + torch.arange(crop, device=pixels.device))[:, None, :]
    return pixels[torch.arange(b, device=pixels.device)[:, None, None], 0, rows, cols][:, None]


def erase(pixels: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Random erasing (torchvision's defaults): with p, one rectangle of random area and aspect set to 0."""
    b, side, device = len(pixels), pixels.shape[-1], pixels.device
    rand = torch.rand(4, b, device=device, generator=generator)
    area = (config.erase_scale[0] + (config.erase_scale[1] - config.erase_scale[0]) * rand[0]) * side * side
    log_ratio = math.log(config.erase_ratio[0]) + (math.log(config.erase_ratio[1] / config.erase_ratio[0])) * rand[1]
    height = torch.sqrt(area * torch.exp(log_ratio)).round().clamp(1, side)
    width = torch.sqrt(area / torch.exp(log_ratio)).round().clamp(1, side)
    top = ((side - height + 1) * rand[2]).floor()
    left = ((side - width + 1) * rand[3]).floor()
    position = torch.arange(side, device=device, dtype=pixels.dtype)
    inside_rows = (position >= top[:, None]) & (position < (top + height)[:, None])
    inside_cols = (position >= left[:, None]) & (position < (left + width)[:, None])
    hole = inside_rows[:, :, None] & inside_cols[:, None, :]
    applied = torch.rand(b, device=device, generator=generator) < config.erase_p
    return pixels * ~(hole & applied[:, None, None])[:, None]
