"""`python -m trainer.tune`: an Optuna study that prunes, resumes from its SQLite file and reports its best trial."""

import json
import sqlite3
import subprocess
import sys

import optuna
import pytest
from typer.testing import CliRunner

from ferdata.recipe import AugmentConfig, TrainConfig
from trainer.evaluate import evaluate
from trainer.tune import app


def run_tune(data, out, trials: int, *extra: str, in_process: bool = False) -> subprocess.CompletedProcess:
    """`python -m trainer.tune` in a process of its own, or its command line in this one (seconds faster)."""
    args = ["--data", str(data), "--out", str(out), "--trials", str(trials), "--profile", "cpu-smoke"]
    args += ["--epochs", "3", "--device", "cpu", *extra]
    if in_process:
        result = CliRunner().invoke(app, args)
        return subprocess.CompletedProcess(args, result.exit_code, result.stdout, str(result.exception or ""))
    command = [sys.executable, "-m", "trainer.tune", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=out.parent)


def test_a_study_finds_a_best_trial_prunes_and_resumes(learnable, tmp_path):
    ingested, out = learnable, tmp_path / "tune"
    first = run_tune(ingested, out, 4, in_process=True)
    assert first.returncode == 0, first.stderr
    assert "best trial" in first.stdout and f"wrote {out / 'best.json'}" in first.stdout

    second = run_tune(ingested, out, 6, in_process=True)  # resumes: two more trials, numbered on from the first four
    assert second.returncode == 0, second.stderr
    assert [line.split()[1] for line in second.stdout.splitlines() if line.startswith("trial ")] == ["4", "5"]

    study = optuna.load_study(study_name=ingested.name, storage=f"sqlite:///{out / 'study.db'}")
    states = [t.state.name for t in study.trials]
    assert len(states) == 6 and set(states) <= {"COMPLETE", "PRUNED"} and "PRUNED" in states
    for trial in study.trials:  # every epoch is reported; a pruned trial stopped early
        if trial.state.name == "COMPLETE":
            assert len(trial.intermediate_values) == 3
        else:
            assert len(trial.intermediate_values) < 3
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 6  # resuming drew new params

    summary = json.loads((out / "best.json").read_text())
    best = summary["best"]
    assert best["trial"] == study.best_trial.number and best["val_top1"] == study.best_value
    assert summary["trials"]["complete"] + summary["trials"]["pruned"] == 6
    assert sorted(p.name for p in out.glob("trial-*")) == [f"trial-{best['trial']:04d}"]  # only the best is kept
    # The recorded overrides rebuild the trial's recipe, and its model scores on val what the study recorded.
    config = TrainConfig.model_validate(TrainConfig().model_dump() | best["recipe"])
    assert config.optimizer == best["params"]["optimizer"] and config.dropout == best["params"]["dropout"]
    scored = evaluate(out / f"trial-{best['trial']:04d}" / "best.pt", ingested, "cpu")
    assert scored["val"]["top1"] == pytest.approx(best["val_top1"])
    assert scored["test"]["top1"] == pytest.approx(best["test_top1"])

    again = run_tune(ingested, out, 6)  # nothing left to run: the summary again, unchanged
    assert again.returncode == 0 and not [line for line in again.stdout.splitlines() if line.startswith("trial ")]
    assert json.loads((out / "best.json").read_text()) == summary
    with sqlite3.connect(out / "study.db") as db:
        assert db.execute("select count(*) from trials").fetchone() == (6,)


def test_augment_strength_scales_the_recipe():
    recipe = AugmentConfig()
    assert recipe.scaled(1.0) == recipe
    off = recipe.scaled(0.0)
    assert (off.scale, off.ratio, off.translate, off.rotate, off.erase_p) == ((1, 1), (1, 1), 0, 0, 0)
    strong = recipe.scaled(1.5)
    assert strong.rotate == 15 and strong.scale == pytest.approx((0.7, 1.3)) and strong.erase_p == 0.75


def test_a_missing_dataset_fails_before_any_trial(tmp_path):
    result = run_tune(tmp_path / "nowhere", tmp_path / "tune", 2)
    assert result.returncode == 1 and "nowhere" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "tune" / "study.db").exists()
