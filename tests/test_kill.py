"""SIGKILL at every rename and removal of ingest and build, and at a spread of them in training: the output is
always absent-or-complete, the previous output survives or is restored, and a rerun leaves no leftovers and
writes the very bytes of an uninterrupted run.

A kill point is the N-th call of `os.replace` or `shutil.rmtree` (every step of an atomic write is one), made
in a child forked from one process that has imported everything (see `_RUNNER`); a second test kills whole
processes at moments in time, which lands inside writes too.
"""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ferdata.outputs import recover
from ferdata.sources.fer2013_csv import write_fer2013_csv
from ferdata.synth import synthesize
from trainer import workdir

# One process imports ferdata, the trainer and their libraries once, then forks a child per command: a run costs
# its own work, not seconds of imports. The child counts calls of `os.replace` and `shutil.rmtree` (every step
# of an atomic write is one) and SIGKILLs itself at the KILL_AT-th; it reports how many there were.
_RUNNER = """
import json, os, runpy, shutil, signal, sys
import ferdata.cli, trainer.fit, trainer.loop, ferdata.build, ferdata.ingest, ferdata.neighbors  # noqa: F401
import albumentations, imblearn.over_sampling, imblearn.under_sampling, sklearn.metrics  # noqa: F401
import ferdata.plots, matplotlib.pyplot, torch, torch._dynamo, dvclive  # noqa: F401  (torch.optim loads dynamo)
real = os.replace, shutil.rmtree
for line in sys.stdin:
    module, args, cwd, kill_at, log = json.loads(line)
    pid = os.fork()
    if pid == 0:
        calls = [0]
        def hooked(function):
            def call(*a, **k):
                calls[0] += 1
                if calls[0] == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)
                return function(*a, **k)
            return call
        os.replace, shutil.rmtree = hooked(real[0]), hooked(real[1])
        os.chdir(cwd)
        stream = open(log, "w")
        os.dup2(stream.fileno(), 1)
        os.dup2(stream.fileno(), 2)
        sys.argv = [module, *args]
        code = 0
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else (exit.code is not None)
        sys.stdout.flush()
        sys.stderr.write(f"kill points: {calls[0]}\\n")
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status), flush=True)
"""
_TRAIN_PARAMS = "train:\n  recipe: {width: 0.0625, epochs: 2, crop: 36, batch_size: 64, ten_crop: false}\n"


@pytest.fixture(scope="module")
def runner():
    process = subprocess.Popen(
        [sys.executable, "-c", _RUNNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    yield process
    process.stdin.close()
    process.wait(timeout=60)


def _run(runner, module: str, args: list, cwd: Path, kill_at: int = 0) -> subprocess.CompletedProcess:
    log = cwd / f".run-{time.monotonic_ns()}.log"
    runner.stdin.write(json.dumps([module, [str(a) for a in args], str(cwd), kill_at, str(log)]) + "\n")
    runner.stdin.flush()
    code = int(runner.stdout.readline())
    output = log.read_text()
    log.unlink()
    return subprocess.CompletedProcess([module, *args], code, output, output)


def _files(directory: Path) -> dict[str, bytes]:
    """The output's files and bytes (a model's unfinished work folder is not part of the output)."""
    if not directory.exists():
        return {}
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and workdir.WORK not in p.relative_to(directory).parts
    }


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".ferdata-" in p.name and p.name != workdir.WORK)


def _kill_everywhere(
    runner,
    tmp_path: Path,
    module: str,
    args: list,
    previous_args: list,
    out: Path,
    choose=lambda total: range(1, total + 1),
) -> int:
    """Kill the command at the points `choose(total)` picks, each over a complete previous output; returns the
    number of points the command has."""
    reference = tmp_path / "reference"
    done = _run(runner, module, args, tmp_path)
    assert done.returncode == 0, done.stderr
    total = int(done.stderr.rsplit("kill points: ", 1)[1])
    shutil.move(out, reference)
    assert _run(runner, module, previous_args, tmp_path).returncode == 0
    previous = _files(out)
    assert previous and previous != _files(reference)
    backup = tmp_path / "previous"
    shutil.copytree(out, backup, symlinks=True)
    for point in choose(total):
        shutil.rmtree(out)
        shutil.copytree(backup, out, symlinks=True)
        killed = _run(runner, module, args, tmp_path, kill_at=point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
        if not (out / workdir.WORK / workdir.COMMITTING).exists():  # a model's journalled move is finished below
            assert _files(out) in ({}, previous, _files(reference)), point  # absent or complete, never half
        recover(out)
        if out.exists() and (out / workdir.WORK).exists():
            workdir.recover(out)
        assert _files(out) in (previous, _files(reference)), point  # the previous output survives or is back
        rerun = _run(runner, module, args, tmp_path)
        assert rerun.returncode == 0, (point, rerun.stderr)
        assert _files(out) == _files(reference), point
        assert _leftovers(out.parent) == [] and not (out / workdir.WORK).exists(), point
    return total


@pytest.fixture
def source(tmp_path) -> Path:
    write_fer2013_csv(tmp_path / "fer.csv", *synthesize(350, seed=4))
    return tmp_path / "fer.csv"


def test_ingest_killed_at_every_rename(runner, tmp_path, source):
    out = tmp_path / "out"
    args = ["ingest", source, "--out", out]
    assert _kill_everywhere(runner, tmp_path, "ferdata", args, [*args, "--seed", "1"], out) >= 5


def test_build_killed_at_every_rename(runner, tmp_path, source):
    assert _run(runner, "ferdata", ["ingest", source, "--out", tmp_path / "ds"], tmp_path).returncode == 0
    out = tmp_path / "v"
    args = ["build", "--variant", "smote", "--data", tmp_path / "ds", "--out", out]
    assert _kill_everywhere(runner, tmp_path, "ferdata", args, [*args, "--seed", "1"], out) >= 6


def test_training_killed_at_many_points(runner, tmp_path, source):
    (tmp_path / "params.yaml").write_text(_TRAIN_PARAMS.replace("epochs: 2", "epochs: 1"))
    assert _run(runner, "ferdata", ["ingest", source, "--out", tmp_path / "ds"], tmp_path).returncode == 0
    out = tmp_path / "model"
    args = ["--data", tmp_path / "ds", "--out", out, "--device", "cpu"]
    # Mid-training, inside the journalled move of the finished run into OUT, and the removal of its work folder
    # (each training run costs seconds, so a spread of points rather than all ~25).
    _kill_everywhere(runner, tmp_path, "trainer.fit", args, [*args, "--seed", "1"], out, lambda n: (n // 2, n - 3, n))


def test_a_killed_training_resumes_to_the_same_bytes(runner, tmp_path, source):
    (tmp_path / "params.yaml").write_text(_TRAIN_PARAMS.replace("epochs: 2", "epochs: 3"))
    assert _run(runner, "ferdata", ["ingest", source, "--out", tmp_path / "ds"], tmp_path).returncode == 0
    args = ["--data", tmp_path / "ds", "--out", tmp_path / "model", "--device", "cpu"]
    assert _run(runner, "trainer.fit", args, tmp_path).returncode == 0
    whole = _files(tmp_path / "model")
    shutil.rmtree(tmp_path / "model")
    # DVCLive clears its plot folders (8 removals), epoch 1 writes best.pt, last.pt and history.json: the 12th
    # call is epoch 2's last.pt.
    killed = _run(runner, "trainer.fit", args, tmp_path, kill_at=12)
    assert killed.returncode == -signal.SIGKILL
    assert _files(tmp_path / "model") == {".ferdata.json": b'{"kind": "model", "written_by": "ferdata"}\n'}
    assert (tmp_path / "model" / workdir.WORK / "last.pt").exists()
    resumed = _run(runner, "trainer.fit", [*args, "--resume"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert _files(tmp_path / "model")["metrics.json"] == whole["metrics.json"]
    assert _files(tmp_path / "model")["best.pt"] == whole["best.pt"]


def test_kills_at_moments_in_time_leave_absent_or_complete_outputs(tmp_path, source):
    """Kills at moments spread over a whole ingest land inside writes, not only between renames."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ferdata", "ingest", str(source), "--out", str(out)]
    started = time.monotonic()
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    seconds = time.monotonic() - started
    reference = _files(out)
    shutil.rmtree(out)
    for fraction in (0.6, 0.8, 0.95):
        process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(seconds * fraction)
        process.kill()
        process.wait()
        assert _files(out) in ({}, reference)
        subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
        assert _files(out) == reference and _leftovers(tmp_path) == []
        shutil.rmtree(out)
