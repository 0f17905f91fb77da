"""Checkpoints: everything a run needs to resume (model, optimizer, scheduler, RNG states, history) and
everything a user needs to rebuild the model (its config and class names), in one file."""

import pickle
from pathlib import Path

import torch

from ferdata.errors import FerdataError, first_line
from ferdata.labels import CLASS_NAMES
from ferdata.outputs import atomic_file
from ferdata.recipe import TrainConfig
from trainer.models import build_model


def save(state: dict, path: Path) -> None:
    # Through a file object: torch.save names the archive's root after a path it is given, and the
    # temporary name is random, so the checkpoint's bytes would differ between runs.
    with atomic_file(path) as tmp, tmp.open("wb") as file:
        torch.save(state, file)


def resume_state(path: Path, shown: Path, config: TrainConfig, device: torch.device) -> dict:
    """The state of a killed or finished run, which must have been trained with `config` (epochs aside)."""
    if not path.exists():
        raise FerdataError(f"{shown}: no checkpoint to resume from")
    state = torch.load(path, map_location=device, weights_only=False)
    # More epochs may be asked for, unless the schedule anneals over the epochs it was given.
    free = set() if config.schedule == "cosine" else {"epochs"}
    saved = {k: v for k, v in state.get("config", {}).items() if k not in free}
    if saved != config.model_dump(exclude=free):
        raise FerdataError(f"{shown}: was trained with another config; resume with the same profile and options")
    return state


def load_checkpoint(path: Path, device: torch.device) -> tuple[torch.nn.Module, TrainConfig]:
    """The model of a ferdata checkpoint, ready to predict, and the config it was trained with."""
    if not path.is_file():
        raise FerdataError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location=device, weights_only=False)
        config = TrainConfig.model_validate(state["config"])
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise FerdataError(f"{path}: not a ferdata checkpoint ({first_line(exc)})") from None
    names = state.get("class_names")
    if names != list(CLASS_NAMES):
        given = f"{len(names)} classes ({', '.join(map(str, names))})" if isinstance(names, list) else "unnamed classes"
        raise FerdataError(
            f"{path}: a model for {given}; ferdata needs FER2013's {len(CLASS_NAMES)} ({', '.join(CLASS_NAMES)})"
        )
    model = build_model(config.model, config.width, config.dropout, config.crop).to(device)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise FerdataError(f"{path}: weights do not fit a {config.model} ({first_line(exc)})") from None
    return model.eval(), config
