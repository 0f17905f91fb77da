"""dvc.yaml's code deps are exactly each stage's import closure, and the packages depend one way:
data library (ferdata) <- trainer <- apps and command lines."""

import ast
import re
from pathlib import Path

import pytest

from pipelines import deps

DVC_YAML = deps.ROOT / "dvc.yaml"


def test_every_stage_lists_exactly_the_modules_it_imports():
    assert deps.differences() == {}


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = DVC_YAML.read_text()
    assert old in text
    edited = tmp_path / "dvc.yaml"
    edited.write_text(text.replace(old, new, 1))
    return edited


def test_a_removed_dep_is_caught(tmp_path):
    # build@* reads its params through ferdata/variants/section.py: without the dep, a change there would
    # serve stale variants from the cache.
    build = DVC_YAML.read_text().index("  build:")
    line = "      - ferdata/variants/section.py\n"
    text = DVC_YAML.read_text()
    at = text.index(line, build)
    edited = tmp_path / "dvc.yaml"
    edited.write_text(text[:at] + text[at + len(line) :])
    assert deps.differences(edited) == {"build": ({Path("ferdata/variants/section.py")}, set())}
    deps.write(edited)  # `python -m pipelines.deps --write` puts it back, and changes nothing else
    assert deps.differences(edited) == {} and edited.read_text() == text


def test_an_unused_dep_is_caught(tmp_path):
    edited = _edited(tmp_path, "      - pipelines/train.py\n", "      - pipelines/train.py\n      - apps/serve.py\n")
    assert deps.differences(edited) == {"train": (set(), {Path("apps/serve.py")})}


def test_training_does_not_depend_on_serving_prediction_tuning_or_the_web_page():
    entries = deps.stage_entries()
    trained = deps.closure(entries["train"])
    assert not {path for path in trained if path.parts[0] == "apps"}
    assert Path("trainer/tune.py") not in trained
    assert not any("web" in path.parts for path in trained)


def test_a_new_step_module_is_a_dep_of_every_build_without_editing_dvc_yaml():
    build = deps.closure(deps.stage_entries()["build"])
    steps = {p.relative_to(deps.ROOT) for p in (deps.ROOT / "ferdata/variants/steps").glob("*.py")}
    assert steps <= build
    assert "ferdata/variants/steps\n" in DVC_YAML.read_text()  # the folder: a new module is covered


# Which packages a module may import: each layer only those below it.
LAYERS = {
    "ferdata": {"ferdata"},
    "trainer": {"ferdata", "trainer"},
    "apps": {"ferdata", "trainer", "apps"},
    "pipelines": {"ferdata", "trainer", "apps", "pipelines"},
}
TOP = {"ferdata/cli.py", "ferdata/__main__.py"}  # the ferdata command line sits above every package


def _first_party_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] in LAYERS}


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_packages_depend_one_way(package):
    for path in sorted((deps.ROOT / package).rglob("*.py")):
        relative = str(path.relative_to(deps.ROOT))
        if relative in TOP:
            continue
        for name in _first_party_imports(path):
            assert name.split(".")[0] in LAYERS[package], f"{relative} imports {name}"
            assert not re.match(r"ferdata\.(cli|__main__)\b", name), f"{relative} imports the command line"
