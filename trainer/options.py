"""What the trainer's command lines share: their options, the recipe and seed they default to (params.yaml's,
read through its owner `ferdata.recipe`), and the one way they run (errors as one line, exit 1)."""

from pathlib import Path
from typing import Annotated

import typer

from ferdata.config import load_or_default
from ferdata.errors import exit_on_error
from ferdata.recipe import PROFILES, TrainConfig, TrainingParams

DataOption = Annotated[Path, typer.Option(help="a ferdata dataset or variant directory")]
ProfileOption = Annotated[
    str | None, typer.Option(help=f"recipe: {', '.join(PROFILES)} [default: params.yaml profile]")
]
EpochsOption = Annotated[int | None, typer.Option(help="override the profile's epochs")]
SeedOption = Annotated[int | None, typer.Option(help="[default: the first of params.yaml's train.seeds]")]
DeviceOption = Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1 ...")]


def command_line(help_text: str) -> typer.Typer:
    return typer.Typer(help=help_text, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


def run(app: typer.Typer) -> None:
    with exit_on_error("trainer"):
        app()


def recipe_and_seed(profile: str | None, epochs: int | None, seed: int | None) -> tuple[TrainConfig, int]:
    """A command line's recipe and seed: ./params.yaml's (when there is one) under the options given."""
    params = load_or_default(TrainingParams)
    if profile is not None:
        params = TrainingParams.model_validate(params.model_dump() | {"profile": profile})
    config = params.recipe()
    if epochs:
        config = config.model_copy(update={"epochs": epochs})
    return config, params.train.seeds[0] if seed is None else seed
