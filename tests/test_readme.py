"""The README's commands are true: every ``pyslice ...`` command in its shell blocks parses with the
real CLI, the extras it installs exist, and its short Python example runs as written."""
from __future__ import annotations

import importlib
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from pyslice.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def _pyslice_commands() -> list[list[str]]:
    commands = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words and words[0] == "pyslice":
                    commands.append(words[1:])
    return commands


def test_the_readme_has_the_two_setup_commands_and_stays_short():
    setup = [b for b in _blocks("bash") if "python3 -m venv" in b]
    assert len(setup) == 2
    assert "pyslice reproduce --scenario paper" in setup[0] and "pytest -q tests" in setup[1]
    assert len(README.splitlines()) <= 250


@pytest.mark.parametrize("args", _pyslice_commands(), ids=lambda a: " ".join(a))
def test_every_pyslice_command_parses(args):
    parsed = build_parser().parse_args(args)
    assert callable(importlib.import_module(f"pyslice.commands.{parsed.command}").run)


def test_installed_extras_exist():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    named = {e for m in re.finditer(r'(?:"\.|pyslice)\[([a-z,]+)\]', README) for e in m.group(1).split(",")}
    assert named and named <= set(extras), named - set(extras)


def test_the_python_quick_start_runs(tmp_path, monkeypatch):
    block = _blocks("python")[0]
    assert "Simulator(" in block
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
