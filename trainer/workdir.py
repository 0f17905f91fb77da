"""A model directory changes only when a run finishes: training works in OUT/.ferdata-work (checkpoints, the
DVCLive log, the figures), and only a finished run's files move into OUT.

A killed run leaves OUT as it was; `--resume` continues from the work directory it left, and any other run
removes it. The move itself is journalled (a `.committing` file written before the first rename), so a run
killed while moving is finished by the next one.
"""

import os
import shutil
from pathlib import Path

from ferdata.errors import FerdataError
from ferdata.outputs import claim, open_output_dir

WORK = ".ferdata-work"
KIND = "model"
COMMITTING = ".committing"
_RESUMABLE = ("last.pt", "best.pt", "history.json", "dvclive")


def open_workdir(out: Path, data: Path, resume: bool) -> Path:
    """The work directory of a run writing `out`: the killed run's to resume, else a fresh one (seeded with
    OUT's checkpoints when resuming a finished run for more epochs)."""
    work = out / WORK
    if resume and not (work / "last.pt").exists() and not (out / "last.pt").exists():
        raise FerdataError(f"{out / 'last.pt'}: no checkpoint to resume from")
    claim(out, KIND, [data])
    open_output_dir(out, KIND)
    recover(out)
    if work.exists() and not (resume and (work / "last.pt").exists()):
        shutil.rmtree(work)
    if not work.exists():
        work.mkdir()
        for name in _RESUMABLE if resume else ():
            source = out / name
            if source.is_dir():
                shutil.copytree(source, work / name)
            elif source.exists():
                shutil.copy2(source, work / name)
    return work


def recover(out: Path) -> None:
    """Finish the move of a run that was killed while moving its files into `out`."""
    work = out / WORK
    if (work / COMMITTING).exists():
        commit(work, out)


def commit(work: Path, out: Path) -> None:
    """Move every file of `work` to the same place in `out`, then remove `work`."""
    (work / COMMITTING).touch()
    for file in sorted(p for p in work.rglob("*") if p.is_file() and p.name != COMMITTING):
        target = out / file.relative_to(work)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, target)
    shutil.rmtree(work)
