"""Search a variant's training hyperparameters with Optuna, scoring every trial on the validation split.

    python -m trainer.tune --data data/variants/smote --out models/tune/smote --trials 20 [--profile cpu-smoke]

Each trial trains the profile's recipe (trainer.fit) with these drawn by Optuna's TPE sampler:

| param | range |
| --- | --- |
| optimizer | sgd, adam |
| lr | 1e-3..1e-1 for sgd, 1e-4..1e-2 for adam (log scale) |
| dropout | 0..0.6 |
| batch_size | 32, 64, 128 |
| augment_strength | 0..1.5 times the recipe's zoom, shift, rotation and erasing |

A trial's score is its best epoch's validation top-1; the test split is never looked at while choosing (the
best trial's test scores are reported once, at the end). A trial whose validation top-1 after an epoch is
below the median of earlier trials at that epoch is pruned (Optuna's MedianPruner). The study lives in
OUT/study.db (SQLite): running the command again resumes it until it has `--trials` finished trials.
OUT/best.json sums up the best trial, with the `train.recipe` overrides to paste into params.yaml; its model is in
OUT/trial-NNNN/ (other trials' folders are removed unless `--keep-all`).
"""

import shutil
import warnings
from pathlib import Path
from typing import Annotated

import optuna
import typer
from optuna.trial import TrialState
from rich.console import Console
from rich.table import Table

from ferdata.card import write_json
from ferdata.errors import FerdataError
from ferdata.outputs import claim, open_output_dir
from ferdata.recipe import TrainConfig
from ferdata.store import load_dataset
from trainer.loop import fit
from trainer.options import DataOption, DeviceOption, ProfileOption, SeedOption, command_line, recipe_and_seed, run

HEARTBEAT_S = 30  # a trial whose process died is marked failed once its heartbeat is this many seconds x 2 old


def suggest(trial: optuna.Trial, base: TrainConfig) -> dict:
    """The trial's hyperparameters as TrainConfig overrides."""
    optimizer = trial.suggest_categorical("optimizer", ["sgd", "adam"])
    low, high = (1e-3, 1e-1) if optimizer == "sgd" else (1e-4, 1e-2)
    strength = trial.suggest_float("augment_strength", 0.0, 1.5)
    return {
        "optimizer": optimizer,
        "lr": trial.suggest_float(f"lr_{optimizer}", low, high, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.6),
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128]),
        "augment": base.augment.scaled(strength).model_dump(),
    }


KIND = "tuning"


def open_study(out: Path, name: str, seed: int, prune: bool) -> optuna.Study:
    """The study in OUT/study.db, made or resumed; OUT is a ferdata tuning folder (or is made one)."""
    claim(out, KIND)
    open_output_dir(out, KIND)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # heartbeats: stable in use
    storage = optuna.storages.RDBStorage(
        f"sqlite:///{out / 'study.db'}", heartbeat_interval=HEARTBEAT_S, grace_period=2 * HEARTBEAT_S
    )
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1) if prune else optuna.pruners.NopPruner()
    study = optuna.create_study(
        storage=storage, study_name=name, direction="maximize", pruner=pruner, load_if_exists=True
    )
    # Seeded by the trials already run, so a resumed study does not redraw its first trials' params.
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials), n_startup_trials=5)
    return study


def tune(
    data: Path,
    out: Path,
    base: TrainConfig,
    trials: int,
    seed: int,
    study_name: str | None = None,
    prune: bool = True,
    keep_all: bool = False,
    device_name: str = "auto",
    timeout: float | None = None,
) -> dict:
    """Run the study until it has `trials` finished (complete or pruned) trials; returns best.json's content."""
    load_dataset(data)  # a missing or broken dataset fails here, not as a failed trial in the study
    study = open_study(out, study_name or data.name, seed, prune)

    def objective(trial: optuna.Trial) -> float:
        config = TrainConfig.model_validate(base.model_dump() | suggest(trial, base))
        trial_dir = _trial_dir(out, trial.number)
        trial.set_user_attr("recipe", _changed(base, config))

        def report(epoch: int, val_top1: float) -> None:
            trial.report(val_top1, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"val top-1 {val_top1:.3f} after epoch {epoch + 1}")

        metrics = fit(data, trial_dir, config, seed, device_name, on_epoch=report)
        trial.set_user_attr("test_top1", metrics["test"]["top1"])
        return metrics["val"]["top1"]

    def tidy(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        shown = f"val top-1 {trial.value:.4f}" if trial.value is not None else "no score"
        print(f"trial {trial.number} {trial.state.name.lower()}: {shown} {trial.params}", flush=True)
        if not keep_all:
            best = _best(study)
            for old in out.glob("trial-*"):
                if best is None or old != _trial_dir(out, best.number):
                    shutil.rmtree(old)

    remaining = trials - len(_finished(study))
    if remaining > 0:
        study.optimize(objective, n_trials=remaining, timeout=timeout, callbacks=[tidy])
    summary = _summary(study, out, data)
    write_json(out / "best.json", summary)
    return summary


def _summary(study: optuna.Study, out: Path, data: Path) -> dict:
    """best.json: the study's trial counts and its best trial, with the overrides that rebuild its recipe."""
    best = _best(study)
    if best is None:
        raise FerdataError(f"{out / 'study.db'}: no trial has finished yet")
    return {
        "study": study.study_name,
        "storage": str(out / "study.db"),
        "data": str(data),
        "trials": {state.name.lower(): sum(t.state == state for t in study.trials) for state in TrialState},
        "best": {
            "trial": best.number,
            "val_top1": best.value,
            "test_top1": best.user_attrs.get("test_top1"),
            "params": best.params,
            "checkpoint": str(_trial_dir(out, best.number) / "best.pt"),
            "recipe": best.user_attrs["recipe"],
        },
    }


def _changed(base: TrainConfig, config: TrainConfig) -> dict:
    """The fields of `config` that differ from `base`: what to put under params.yaml's `train.recipe`."""
    before = base.model_dump()
    return {key: value for key, value in config.model_dump().items() if value != before[key]}


def _trial_dir(out: Path, number: int) -> Path:
    return out / f"trial-{number:04d}"


def _finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def _best(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max(complete, key=lambda t: (t.value, -t.number)) if complete else None


def show(summary: dict) -> None:
    console = Console()
    counts = ", ".join(f"{n} {state}" for state, n in summary["trials"].items() if n)
    table = Table(title=f"study {summary['study']} ({counts})")
    for column in ("", "value"):
        table.add_column(column)
    best = summary["best"]
    table.add_row("best trial", str(best["trial"]))
    table.add_row("val top-1 (chosen by)", f"{best['val_top1']:.4f}")
    if best["test_top1"] is not None:
        table.add_row("test top-1 (reported once)", f"{best['test_top1']:.4f}")
    for name, value in best["params"].items():
        table.add_row(name, f"{value:.4g}" if isinstance(value, float) else str(value))
    table.add_row("checkpoint", best["checkpoint"])
    console.print(table)


app = command_line(__doc__.split("\n\n")[0])


@app.command()
def search(
    data: DataOption,
    out: Annotated[Path, typer.Option(help="folder for study.db, best.json and the best model")],
    trials: Annotated[int, typer.Option(help="finished trials the study should have")] = 20,
    profile: ProfileOption = None,
    epochs: Annotated[int | None, typer.Option(help="override the profile's epochs per trial")] = None,
    study: Annotated[
        str | None, typer.Option(help="study name inside study.db [default: the data folder's name]")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="stop starting trials after this many seconds")] = None,
    prune: Annotated[bool, typer.Option("--prune/--no-prune", help="stop poor trials early")] = True,
    keep_all: Annotated[bool, typer.Option(help="keep every trial's folder, not only the best")] = False,
    seed: SeedOption = None,
    device: DeviceOption = "auto",
) -> None:
    """Search DATA's hyperparameters with Optuna; keep the best trial's model."""
    base, seed = recipe_and_seed(profile, epochs, seed)
    summary = tune(data, out, base, trials, seed, study, prune, keep_all, device, timeout)
    show(summary)
    print(f"wrote {out / 'best.json'}")


if __name__ == "__main__":
    run(app)
