import json
import re
import subprocess
import sys

import pytest

from conftest import run_cli
from ferdata.errors import FerdataError
from ferdata.params import load_params
from ferdata.sources.fer2013_csv import write_fer2013_csv


def test_project_params_file_is_valid():
    from pathlib import Path

    params = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
    assert params.profile in ("cpu-smoke", "paper")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seed: 1\ningest:\n  val_fractoin: 0.2\n", "ingest.val_fractoin: unknown key"),
        ("ingest:\n  val_fraction: 0.7\n", "ingest.val_fraction: Input should be less than 0.5"),
        ("profile: gpu\n", "profile: 'gpu' is not a profile (known: paper, cpu-smoke)"),
        ("train:\n  recipe:\n    optimiser: adam\n", "train.recipe.optimiser: unknown key"),
        ("profile: paper\ntrain:\n  recipe: {lr: -1}\n", "train.recipe.lr: Input should be greater than 0"),
        ("train: [lr]\n", "train: Input should be a valid dictionary"),
        ("train:\n  lr: 0.1\n", "train.lr: unknown key"),
        ("train:\n  seeds: []\n", "train.seeds: List should have at least 1 item"),
        ("build:\n  variants:\n    a/b: {steps: [ros]}\n", "variant name 'a/b' is not a plain name"),
        ("seed: [1\n", "not readable YAML"),
        ("compare:\n  ensembles:\n    e: [ros, rous]\n", "compare.ensembles.e: 'rous' is not in build.pipeline"),
        ("leakdemo:\n  variant: smoot\n", "leakdemo.variant: 'smoot' is not in build.pipeline"),
        ("leakdemo:\n  enabled: maybe\n", "leakdemo.enabled"),
    ],
)
def test_bad_params_are_named(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(FerdataError, match=re.escape(message)):
        load_params(path)


def test_leakdemo_is_on_for_cpu_smoke_only_unless_set(tmp_path):
    path = tmp_path / "params.yaml"
    for text, enabled in [
        ("", True),
        ("profile: paper\n", False),
        ("profile: paper\nleakdemo: {enabled: true}\n", True),
    ]:
        path.write_text(text)
        params = load_params(path)
        assert params.leakdemo.enabled_for(params.profile) is enabled
    path.write_text("profile: paper\nleakdemo:\n  variant: smoot\n")  # not run, so not checked
    params = load_params(path)
    assert not params.leakdemo.enabled_for(params.profile)


def test_cli_takes_defaults_from_params_yaml(tmp_path, faces):
    (tmp_path / "params.yaml").write_text("seed: 3\nsynth:\n  rows: 140\n")
    assert run_cli("synth", "--out", "a.csv", cwd=tmp_path).returncode == 0
    assert len((tmp_path / "a.csv").read_text().splitlines()) == 141
    result = run_cli("synth", "--out", "c.csv", "--rows", "10", cwd=tmp_path)
    assert result.returncode == 1 and "option rows: Input should be greater than or equal to 70" in result.stderr
    (tmp_path / "params.yaml").write_text("synth:\n  rowz: 140\n")
    result = run_cli("synth", "--out", "b.csv", cwd=tmp_path)
    assert result.returncode == 1 and "synth.rowz: unknown key" in result.stderr and not (tmp_path / "b.csv").exists()


def test_bad_option_values_are_named(tmp_path, faces):
    write_fer2013_csv(tmp_path / "fer.csv", *faces)
    result = run_cli("ingest", tmp_path / "fer.csv", "--out", tmp_path / "ds", "--val-fraction", "0.9")
    assert result.returncode == 1 and "option val_fraction: Input should be less than 0.5" in result.stderr
    assert not (tmp_path / "ds").exists()


def test_info_counts_and_imbalance(tmp_path, faces):
    write_fer2013_csv(tmp_path / "fer.csv", *faces)
    assert run_cli("ingest", tmp_path / "fer.csv", "--out", tmp_path / "ds").returncode == 0
    result = run_cli("info", tmp_path / "ds", "--json")
    summary = json.loads(result.stdout)
    train = summary["train"]
    assert train["total"] == sum(train["counts"].values()) == int((faces[2] == "Training").sum())
    assert train["imbalance_ratio"] == round(max(train["counts"].values()) / min(train["counts"].values()), 2)
    assert "imbalance" in run_cli("info", tmp_path / "ds").stdout


def test_help_lists_every_command_and_bad_directories_fail(tmp_path):
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("synth", "ingest", "audit", "info", "build", "export", "predict", "serve"):
        assert command in result.stdout
    version = run_cli("--version")
    assert version.returncode == 0 and re.fullmatch(r"ferdata \d+\.\d+\.\d+\n", version.stdout)
    result = run_cli("info", tmp_path)
    assert result.returncode == 1 and "train.npz: no such split file" in result.stderr


def test_help_and_start_up_import_no_heavy_library():
    """`ferdata --help` (and so every command's start) imports none of the libraries the commands use."""
    probe = (
        "import sys; sys.argv = ['ferdata', '--help']\n"
        "from ferdata.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'numpy', 'pandas', 'pyarrow', 'cv2', 'sklearn', 'torch', 'imblearn', 'albumentations', 'pydantic'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
