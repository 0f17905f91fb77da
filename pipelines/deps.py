"""Each DVC stage's code dependencies, computed: the first-party modules its entry point imports, transitively.

Read from the source with `ast`, never by importing: every `import` and `from ... import` anywhere in a module
counts (an import inside a function runs when the function does), and so does every package `__init__` on the
way to a module. A module that lists a package's modules with `pkgutil.iter_modules(PACKAGE.__path__)` (the
step registry) imports all of them.

    python -m pipelines.deps          # each stage's code deps, as dvc.yaml lists them
    python -m pipelines.deps --check  # exit 1 naming every stage whose dvc.yaml deps differ
    python -m pipelines.deps --write  # put them into dvc.yaml (its other lines and comments kept)

tests/test_dvc_deps.py runs the check, so dvc.yaml's deps cannot drift from the code.
"""

import ast
import re
import sys
from pathlib import Path

import yaml

from ferdata.outputs import atomic_file

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("ferdata", "trainer", "apps", "pipelines")
_ENTRY = re.compile(r"python -m ([\w.]+)")


def module_file(module: str) -> Path | None:
    """The source file of a first-party module or package, or None when there is none."""
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(tree: ast.Module) -> set[str]:
    """First-party modules named by the imports of `module`, with the package listings it runs."""
    names: set[str] = set()
    aliases: dict[str, str] = {}  # a name bound by an import -> the module it is
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.add(alias.name)
                bound = alias.asname or alias.name.split(".")[0]
                aliases[bound] = alias.name if alias.asname else bound
        elif isinstance(node, ast.ImportFrom):  # ferdata uses absolute imports only
            base = node.module or ""
            names.add(base)
            for alias in node.names:
                names.add(f"{base}.{alias.name}")  # a submodule, when it is one
                aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
    for node in ast.walk(tree):  # pkgutil.iter_modules(PACKAGE.__path__): every module of PACKAGE
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "iter_modules" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Attribute) and arg.attr == "__path__" and isinstance(arg.value, ast.Name):
                listed = aliases.get(arg.value.id, arg.value.id)
                names |= {f"{listed}.{path.stem}" for path in module_file(listed).parent.glob("*.py")}
    return {name for name in names if name.split(".")[0] in FIRST_PARTY and module_file(name)}


def closure(entry: str) -> set[Path]:
    """The files of every first-party module `entry` imports, itself and its packages' `__init__`s included."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        module = todo.pop()
        parts = module.split(".")
        for name in [".".join(parts[:i]) for i in range(1, len(parts))] + [module]:
            if name in seen or module_file(name) is None:
                continue
            seen.add(name)
            path = module_file(name)
            todo.extend(_imported(ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return {module_file(name).relative_to(ROOT) for name in seen}


def stage_entries(dvc_yaml: Path = ROOT / "dvc.yaml") -> dict[str, str]:
    """{stage: the module its command runs}."""
    stages = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))["stages"]
    return {name: _ENTRY.search(stage["cmd"]).group(1) for name, stage in stages.items()}


def listed_code_deps(stage: dict) -> set[Path]:
    """The first-party code files a dvc.yaml stage lists; a folder stands for its Python files."""
    files: set[Path] = set()
    for dep in stage.get("deps", []):
        path = Path(dep)
        if path.parts[0] not in FIRST_PARTY:
            continue
        files |= {p.relative_to(ROOT) for p in (ROOT / path).rglob("*.py")} if (ROOT / path).is_dir() else {path}
    return files


def differences(dvc_yaml: Path = ROOT / "dvc.yaml") -> dict[str, tuple[set[Path], set[Path]]]:
    """{stage: (imported but not listed, listed but not imported)} for every stage whose deps are wrong."""
    stages = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))["stages"]
    wrong = {}
    for name, entry in stage_entries(dvc_yaml).items():
        wanted, listed = closure(entry), listed_code_deps(stages[name])
        if wanted != listed:
            wrong[name] = (wanted - listed, listed - wanted)
    return wrong


def as_listed(files: set[Path]) -> list[str]:
    """`files` as dvc.yaml lists them: a folder whose Python files are all among them stands for them."""
    folders = sorted(
        {parent for path in files for parent in path.parents if parent != Path(".")}, key=lambda p: len(p.parts)
    )
    listed: list[str] = []
    covered: set[Path] = set()
    for folder in folders:
        inside = {p.relative_to(ROOT) for p in (ROOT / folder).rglob("*.py")}
        if folder.parts[0] in FIRST_PARTY and len(folder.parts) > 1 and inside <= files and not inside <= covered:
            listed.append(f"{folder}")
            covered |= inside
    return sorted(listed + [str(path) for path in files - covered])


def write(dvc_yaml: Path = ROOT / "dvc.yaml") -> None:
    """Replace the first-party code deps of every stage in dvc.yaml with its closure, keeping every other line."""
    entries = stage_entries(dvc_yaml)
    lines, stage, in_deps = [], None, False
    for line in dvc_yaml.read_text(encoding="utf-8").split("\n"):
        if match := re.match(r"^  (\w+):", line):
            stage = match.group(1)
        if re.match(r"^    deps:", line):
            lines += [line, *(f"      - {dep}" for dep in as_listed(closure(entries[stage])))]
            in_deps = True
            continue
        dep = re.match(r"^      - (\S+)", line) if in_deps else None
        in_deps = dep is not None
        if dep and Path(dep.group(1)).parts[0] in FIRST_PARTY:
            continue
        lines.append(line)
    with atomic_file(dvc_yaml) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str]) -> int:
    if "--write" in argv:
        write()
        return 0
    if "--check" in argv:
        wrong = differences()
        for stage, (missing, extra) in wrong.items():
            for path in sorted(missing):
                print(f"dvc.yaml: stage {stage}: missing code dep {path}")
            for path in sorted(extra):
                print(f"dvc.yaml: stage {stage}: lists {path}, which it does not import")
        return 1 if wrong else 0
    for stage, entry in stage_entries().items():
        print(f"{stage}:")
        for path in as_listed(closure(entry)):
            print(f"  - {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
