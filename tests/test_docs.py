"""The documentation cannot drift from the command line: every `ferdata` command and trainer module that the
README or a docs/ page shows (in a shell block or in inline code) exists, and takes every option shown."""

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_SHELL_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)
_INLINE = re.compile(r"`((?:ferdata|python -m trainer\.)[^`]*)`")
_MODULE = re.compile(r"(?:python|torchrun .*?) -m (trainer\.\w+)")


def shown_commands() -> list[tuple[str, str]]:
    """(page, command line) for every ferdata or trainer command the pages show."""
    found = []
    for page in PAGES:
        text = page.read_text()
        lines = [line for block in _SHELL_BLOCK.findall(text) for line in block.splitlines()]
        lines += _INLINE.findall(text)
        for line in lines:
            command = line.split("  #")[0].replace("\\|", "|").strip()
            if command.startswith("ferdata ") or _MODULE.search(command):
                found.append((page.name, command))
    return found


@cache
def help_text(program: tuple[str, ...]) -> str:
    result = subprocess.run([sys.executable, *program, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(program)} --help: {result.stderr[-500:]}"
    return result.stdout


def program_of(command: str) -> tuple[str, ...]:
    module = _MODULE.search(command)
    if module:
        return ("-m", module.group(1))
    words = command.split()
    assert len(words) > 1, command
    return ("-m", "ferdata") if words[1].startswith("-") else ("-m", "ferdata", words[1])


def test_the_pages_show_commands():
    shown = {command.split()[1] for _, command in shown_commands() if command.startswith("ferdata ")}
    assert {"ingest", "build", "export", "predict", "serve", "audit", "info", "synth"} <= shown


@pytest.mark.parametrize(("page", "command"), shown_commands(), ids=lambda value: value[:60])
def test_every_shown_command_exists_with_its_options(page, command):
    text = help_text(program_of(command))
    module = _MODULE.search(command)
    arguments = command[module.end() :] if module else command  # torchrun's own options come before -m
    for option in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", arguments):
        assert re.search(rf"{re.escape(option)}\b", text), f"{page}: {command!r}: {option} is not an option"
