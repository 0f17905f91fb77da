"""Adding a step is one new module: a toy step in a module of its own is picked up by the registry, the params
file, `ferdata build --list`, the build and the battery, with no other file touched.

The module is written to a temporary folder that is added to `ferdata.variants.steps`'s search path, as if it
had been dropped into ferdata/variants/steps/, so the source tree is left alone.
"""

import json
import subprocess
import sys

from conftest import run_cli

TOY_STEP = '''"""A toy step: mirrored copies of some training rows."""

import numpy as np
from pydantic import Field

from ferdata.store import Split, concat
from ferdata.variants.base import Step, StepParams, derived


class MirrorParams(StepParams):
    share: float = Field(0.5, gt=0, le=1, description="share of the rows mirrored")


class Mirror(Step):
    """Mirrored copies of training rows."""

    name = "mirror"
    kind = "augment"
    Params = MirrorParams

    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        rows = np.sort(rng.choice(len(train), int(len(train) * self.params.share), replace=False))
        images = np.ascontiguousarray(train.images[rows][:, :, ::-1])
        return concat([train, derived(train, self.name, images, train.labels[rows], [rows])])
'''

# Runs a Python snippet (or the ferdata CLI) with the toy module's folder on the steps package's path.
WITH_TOY = "import sys, ferdata.variants.steps as s; s.__path__.append(sys.argv.pop(1)); "


def _with_toy(toy_dir, code: str, *args, cwd=None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", WITH_TOY + code, str(toy_dir), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd)


def test_a_toy_step_in_one_module_is_everywhere(tmp_path, ingested):
    toy = tmp_path / "toy"
    toy.mkdir()
    (toy / "mirror.py").write_text(TOY_STEP)
    (tmp_path / "params.yaml").write_text(
        "leakdemo: {enabled: false}\ncompare: {ensembles: {}}\n"
        f"build:\n  data: {ingested}\n  out: {tmp_path / 'variants'}\n"
        "  variants:\n    mirrored: {steps: [ros, mirror], mirror: {share: 0.25}}\n  pipeline: [mirrored]\n"
    )
    cli = "sys.argv[0] = 'ferdata'; from ferdata.cli import main; main()"

    listed = _with_toy(toy, cli, "build", "--list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "mirror" in listed.stdout and "Mirrored copies of training rows" in listed.stdout
    assert "share [0.5]" in listed.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text((tmp_path / "params.yaml").read_text().replace("share: 0.25", "share: 2"))
    refused = _with_toy(toy, cli, "build", "--variant", "mirrored", "--params", bad, cwd=tmp_path)
    assert refused.returncode == 1 and "build.variants.mirrored.mirror.share" in refused.stderr

    built = _with_toy(toy, cli, "build", "--variant", "mirrored", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    card = json.loads((tmp_path / "variants" / "mirrored" / "card.json").read_text())
    assert card["steps"] == ["ros", "mirror"] and card["params"]["steps"]["mirror"] == {"share": 0.25}
    balanced = sum(card["history"][0]["counts_after"])
    assert sum(card["counts_after"]) == balanced + int(balanced * 0.25)

    battery = _with_toy(
        toy,
        "from pathlib import Path; from ferdata.store import load_dataset, concat; "
        "from ferdata.variants import checks; from ferdata.variants.registry import STEPS; "
        "d = load_dataset(Path(sys.argv[1])); "
        "checks.check_step(STEPS['mirror'], d['train'], concat([d['val'], d['test']])); "
        "checks.check_variant(Path(sys.argv[2]), Path(sys.argv[1])); print('battery passed')",
        ingested,
        tmp_path / "variants" / "mirrored",
    )
    assert battery.returncode == 0 and "battery passed" in battery.stdout, battery.stderr

    # Without the module, the same params file is refused: the step exists only through it.
    missing = run_cli("build", "--variant", "mirrored", cwd=tmp_path)
    assert missing.returncode == 1 and "build.variants.mirrored.mirror: unknown key" in missing.stderr
