"""The DVC pipeline itself, end to end on a small copy of the project: real `dvc repro`, `dvc status`,
`dvc metrics show` and `dvc plots show`; a parameter change reruns only its variant; a killed stage reruns to
the same bytes."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from apps.compare import compare, compare_markdown, write_comparison
from ferdata.errors import FerdataError
from ferdata.outputs import MARKER
from trainer.workdir import WORK

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
VARIANTS = ["rus", "ros"]
SEEDS = [0, 1]


def dvc(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    result = subprocess.run(
        [str(BIN / "dvc"), *args], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def ran(result: subprocess.CompletedProcess) -> set[str]:
    return {line.split("'")[1] for line in result.stdout.splitlines() if line.startswith("Running stage '")}


def lock_outs(project: Path, stage: str) -> dict[str, str]:
    lock = yaml.safe_load((project / "dvc.lock").read_text())["stages"][stage]
    return {out["path"]: out["md5"] for out in lock["outs"]}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The project's tracked files in a fresh git repository, params shrunk to seconds, repro'd once."""
    project = tmp_path_factory.mktemp("project")
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in tracked.split():
        if name in ("dvc.lock",) or (
            name.startswith(("reports/", "models/")) and not name.endswith((".gitignore", MARKER))
        ):
            continue
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, project / name)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["synth"] = {"rows": 280, "test_rows": None}
    params["build"]["pipeline"] = VARIANTS
    params["leakdemo"] = {"enabled": True, "variant": "ros"}
    params["compare"] = {"ensembles": {"rus+ros": VARIANTS}, "baseline": "rus"}
    params["train"] = {"seeds": SEEDS, "recipe": {"epochs": 2}}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "a clone"], cwd=project, check=True)
    first = dvc(project, "repro")
    expected = (
        {"synth", "ingest", "audit", "leakdemo", "compare"}
        | {f"build@{v}" for v in VARIANTS}
        | {f"train@{v}-{k}" for v in VARIANTS for k in SEEDS}
    )
    assert ran(first) == expected
    # Training reports every epoch as it goes, in dvc repro's own output.
    assert re.search(
        r"^epoch 2/2  train loss [\d.]+ top-1 [\d.]+  val top-1 [\d.]+  lr \S+  [\d,]+ images/s  left 0:00:00$",
        first.stdout,
        re.M,
    )
    return project


def test_compare_reports_every_variant_and_the_leak(project):
    report = json.loads((project / "reports/compare.json").read_text())
    assert [row["name"] for row in report["rows"]] == [*VARIANTS, "rus+ros"]
    markdown = (project / "reports/compare.md").read_text()
    assert all(re.search(rf"^\| {re.escape(name)}( ≈)? \|", markdown, re.M) for name in [*VARIANTS, "rus+ros"])
    assert "**Verdict.**" in markdown
    assert "## Leakage demonstration (ros)" in markdown
    leak = report["leakdemo"]
    # 1-NN memorises: on a test split full of copies of training images it must score far higher.
    assert leak["inflation_points"]["nearest_neighbour_top1"] > 20
    assert leak["leaky_test_rows_sharing_a_source_with_train"] > 0
    for name in ("compare_scores.png", "compare_recall.png"):
        assert (project / "reports" / name).read_bytes().startswith(b"\x89PNG")


def test_the_comparison_is_deterministic_and_refuses_mismatched_runs(project, tmp_path):
    models, data = project / "models", project / "data/splits/fer2013"
    report = compare(VARIANTS, models, {"rus+ros": VARIANTS}, data, {"enabled": False}, SEEDS, baseline="rus")
    top1 = [json.loads((models / f"rus/seed{k}/metrics.json").read_text())["test"]["top1"] for k in SEEDS]
    assert report["rows"][0]["top1_seeds"] == [round(value, 4) for value in top1]
    assert report["rows"][0]["top1"] == pytest.approx(sum(top1) / 2, abs=1e-4)
    write_comparison(report, tmp_path / "again")
    for name in ("compare_scores.png", "compare_recall.png"):  # the same bytes as the stage wrote
        assert (tmp_path / "again" / name).read_bytes() == (project / "reports" / name).read_bytes()
    assert re.search(r"\| rus\+ros( ≈)? \| - \|", compare_markdown(report)) and "Leakage" not in compare_markdown(
        report
    )
    ros = report["rows"][1]
    assert ros["vs_baseline"]["difference"] == pytest.approx(ros["top1"] - report["rows"][0]["top1"], abs=1e-4)

    shutil.copytree(models, tmp_path / "models")
    path = tmp_path / "models/ros/seed1/metrics.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"test_sha256": "0" * 64}))
    with pytest.raises(FerdataError, match="different test splits"):
        compare(VARIANTS, tmp_path / "models", {}, data, {"enabled": False}, SEEDS)
    with pytest.raises(FerdataError, match="dvc repro train@smote-0"):
        compare(["rus", "smote"], models, {}, data, {"enabled": False}, SEEDS)
    with pytest.raises(FerdataError, match="dvc repro train@rus-2"):
        compare(VARIANTS, models, {}, data, {"enabled": False}, [0, 2], baseline="rus")
    with pytest.raises(FerdataError, match=r"compare\.baseline: 'none' is not among the trained variants"):
        compare(VARIANTS, models, {}, data, {"enabled": False}, SEEDS)


def test_nothing_to_reproduce_and_a_second_repro_does_nothing(project):
    assert dvc(project, "status", "--quiet").returncode == 0
    assert ran(dvc(project, "repro")) == set()


def test_metrics_and_plots_cover_every_variant(project, tmp_path):
    metrics = json.loads(dvc(project, "metrics", "show", "--json").stdout)
    files = next(iter(metrics.values()))["data"]
    assert {f"models/{v}/seed{k}/metrics.json" for v in VARIANTS for k in SEEDS} <= set(files)
    dvc(project, "plots", "show", "--out", str(tmp_path / "plots"))
    html = (tmp_path / "plots" / "index.html").read_text()
    for variant in VARIANTS:
        for k in SEEDS:
            assert f"models/{variant}/seed{k}/dvclive/plots/metrics/val/top1.tsv" in html
            assert f"{variant}, seed {k}, test confusion matrix, row-normalised" in html  # the vega plots


def test_changing_one_variants_param_reruns_only_that_variant(project):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["build"]["variants"]["rus"]["rus"] = {"sampling_strategy": {"happy": 20}}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = json.loads(dvc(project, "status", "--json").stdout)
    assert set(status) == {"build@rus"}
    assert ran(dvc(project, "repro")) == {"build@rus", "train@rus-0", "train@rus-1", "compare"}


def test_a_killed_stage_reruns_to_the_same_outputs(project):
    before = lock_outs(project, "train@ros-0")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    repro = subprocess.Popen(
        [str(BIN / "dvc"), "repro", "--force", "--single-item", "train@ros-0"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    model = project / "models/ros/seed0"
    last = model / WORK / "last.pt"  # training works beside the outputs until it finishes
    deadline = time.monotonic() + 300
    while repro.poll() is None and time.monotonic() < deadline:
        # dvc removes the stage's outputs before running it; the first checkpoint means training is under way.
        if last.exists() and not (model / "metrics.json").exists():
            break
        time.sleep(0.02)
    assert repro.poll() is None, "the stage finished before it could be killed"
    # As a crash would: every process at once (dvc runs the command in a session of its own).
    for process in [*psutil.Process(repro.pid).children(recursive=True), psutil.Process(repro.pid)]:
        process.kill()
    repro.wait()
    assert not (model / "metrics.json").exists() and last.exists()
    assert dvc(project, "status", "--quiet", check=False).returncode != 0  # dvc sees the stage is incomplete
    # A plain `dvc repro` would restore the outputs from DVC's cache; --force makes the stage train again.
    assert ran(dvc(project, "repro", "--force", "--single-item", "train@ros-0")) == {"train@ros-0"}
    assert lock_outs(project, "train@ros-0") == before
    assert not (model / WORK).exists()  # the killed run's work is gone
    assert dvc(project, "status", "--quiet").returncode == 0


def test_a_quick_look_with_one_seed_retrains_nothing(project):
    """`dvc exp run -S train.seeds=[0]`: the seed-0 models are reused, only the comparison is redone."""
    assert ran(dvc(project, "exp", "run", "-S", "train.seeds=[0]")) == {"compare"}
    report = json.loads((project / "reports/compare.json").read_text())
    assert report["seeds"] == [0] and all(row["seeds"] == 1 for row in report["rows"])
    assert "from training seed 0 alone" in (project / "reports/compare.md").read_text()
