"""The one device choice: "auto" is the GPU when there is one, else the CPU; a named GPU must exist."""

import torch

from ferdata.errors import FerdataError


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise FerdataError(f"device {name!r}: not a device name (auto, cpu, cuda, cuda:1 ...)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FerdataError(f"device {name!r} asked for, but this machine has no CUDA GPU (use --device cpu)")
    return device
