"""DistributedDataParallel from torchrun's environment variables: NCCL on GPUs, gloo on CPUs."""

import os

import torch
import torch.distributed as dist

from ferdata.device import pick_device


def start() -> tuple[int, int]:
    """(rank, world size): under torchrun, join the process group; otherwise (0, 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def stop(world: int) -> None:
    if world > 1:
        dist.destroy_process_group()


def barrier(world: int) -> None:
    if world > 1:
        dist.barrier()


def rank_device(name: str, world: int) -> torch.device:
    """The device this rank trains on: under torchrun on GPUs, the one LOCAL_RANK names."""
    device = pick_device(name)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return device


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0
