"""The networks: usef-kh/fer's VGGNet and a VGG16-style transfer model, both for 1-channel face crops."""

from pathlib import Path

import torch
from torch import nn

from ferdata.errors import FerdataError
from ferdata.labels import NUM_CLASSES

_VGGNET_STAGES = (64, 128, 256, 512)  # each: 2 x (conv3x3 -> BatchNorm -> ReLU), then max-pool
_VGG16_STAGES = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def _conv_stage(in_channels: int, out_channels: int, convs: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [
            nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        ]
    return [*layers, nn.MaxPool2d(2)]


class VGGNet(nn.Module):
    """usef-kh/fer's VGGNet (73.28% on FER2013 PublicTest): 4 stages, then 2048 -> 4096 -> 4096 -> 7 with
    dropout, on 40x40 crops (~29.9 M parameters at width 1; `width` scales every layer for small runs)."""

    def __init__(self, width: float = 1.0, dropout: float = 0.2, crop: int = 40, classes: int = NUM_CLASSES):
        super().__init__()
        channels = [max(1, round(c * width)) for c in _VGGNET_STAGES]
        layers, previous = [], 1
        for c in channels:
            layers += _conv_stage(previous, c, 2)
            previous = c
        self.features = nn.Sequential(*layers)
        side = crop // 2 ** len(channels)
        hidden = max(1, round(4096 * width))
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(previous * side * side, hidden),
            nn.Dropout(dropout),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.Dropout(dropout),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class VGG16Transfer(nn.Module):
    """VGG16's convolutional stages with a global-average-pooling head, as in the seeds' transfer models.
    Gray input is replicated to 3 channels so ImageNet weights (loaded from a local file) fit."""

    def __init__(self, width: float = 1.0, dropout: float = 0.2, classes: int = NUM_CLASSES):
        super().__init__()
        layers, previous = [], 3
        for c, convs in _VGG16_STAGES:
            c = max(1, round(c * width))
            for i in range(convs):  # torchvision's VGG16 has no BatchNorm
                layers += [nn.Conv2d(previous if i == 0 else c, c, 3, padding=1), nn.ReLU(inplace=True)]
            layers.append(nn.MaxPool2d(2))
            previous = c
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(previous, classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x.expand(-1, 3, -1, -1)))

    def load_imagenet(self, path: Path) -> None:
        """Copy convolution weights from a local torchvision VGG16 state dict (`features.N.weight`...)."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError) as exc:
            raise FerdataError(f"{path}: not a readable weights file ({exc})") from None
        wanted = {k: v for k, v in self.features.state_dict().items()}
        for key, value in wanted.items():
            given = state.get(f"features.{key}")
            if given is None or given.shape != value.shape:
                shape = None if given is None else tuple(given.shape)
                raise FerdataError(f"{path}: features.{key} has shape {shape}, expected {tuple(value.shape)}")
            wanted[key] = given
        self.features.load_state_dict(wanted)


def build_model(name: str, width: float, dropout: float, crop: int, weights: Path | None = None) -> nn.Module:
    if name == "vggnet":
        if weights is not None:
            raise FerdataError("weights load into the vgg16 transfer model only")
        return VGGNet(width, dropout, crop)
    if name == "vgg16":
        model = VGG16Transfer(width, dropout)
        if weights is not None:
            model.load_imagenet(weights)
        return model
    raise FerdataError(f"unknown model {name!r} (known: vggnet, vgg16)")
