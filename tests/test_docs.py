"""Every code block of README.md and docs/*.md runs, as a user would run it, with one epoch.

Python blocks run one by one, each in a fresh interpreter; bash blocks run command by command in
one shell (in a temporary folder where ``examples/`` and ``benchmarks/`` are reachable); TOML
blocks are read by the command line's configuration reader. The budget is cut to one epoch
(``epochs=N`` and ``--epochs N`` become 1; example scripts get ``--epochs 1``). Installation
commands (``pip install ...``) are what CI itself runs, so they are skipped here.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.M | re.S)


def blocks(path: Path, language: str) -> list[str]:
    return [code for lang, code in BLOCK.findall(path.read_text()) if lang == language]


def one_epoch(code: str) -> str:
    code = re.sub(r"\bepochs=\d+", "epochs=1", code)
    code = re.sub(r"--epochs \d+", "--epochs 1", code)
    return re.sub(r"(python examples/\w+\.py)(?![^\n]*--epochs)", r"\1 --epochs 1", code)


def shell_commands(code: str) -> list[str]:
    """The block's commands (continuation lines joined, comments dropped), less installation."""
    joined = re.sub(r"\\\n\s*", " ", code)
    commands = [re.sub(r"\s+#.*$", "", line).strip() for line in joined.splitlines()]
    return [c for c in commands if c and not c.startswith(("pip install", "#"))]


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    for name in ("examples", "benchmarks"):
        (tmp_path / name).symlink_to(REPO / name)
    return tmp_path


def run(args, cwd: Path, mirror: Path, shell: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, CDGRAPH_DATA=str(mirror), OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    return subprocess.run(args, cwd=cwd, env=env, shell=shell, capture_output=True, text=True,
                          timeout=900, executable="/bin/bash" if shell else None)


@pytest.mark.realdata
@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_python_blocks_run(path, mirror, workdir):
    for code in blocks(path, "python"):
        done = run([sys.executable, "-c", one_epoch(code)], workdir, mirror)
        assert done.returncode == 0, f"{path.name}:\n{code}\n{done.stderr[-3000:]}"


@pytest.mark.realdata
@pytest.mark.parametrize("path", [p for p in DOCS if blocks(p, "bash")],
                         ids=[p.name for p in DOCS if blocks(p, "bash")])
def test_shell_blocks_run(path, mirror, workdir):
    for code in blocks(path, "bash"):
        for command in shell_commands(one_epoch(code)):
            command = command.replace("../shared/data", str(mirror))
            done = run(command, workdir, mirror, shell=True)
            assert done.returncode == 0, f"{path.name}: {command}\n{done.stderr[-3000:]}"


@pytest.mark.parametrize("path", [p for p in DOCS if blocks(p, "toml")],
                         ids=[p.name for p in DOCS if blocks(p, "toml")])
def test_toml_blocks_are_valid_configurations(path, tmp_path):
    from cdgraph.cli.config import read

    for code in blocks(path, "toml"):
        (tmp_path / "c.toml").write_text(code)
        assert read(tmp_path / "c.toml")


def test_the_training_options_table_is_trainconfig():
    """docs/models.md lists every training option with its default and help, as declared."""
    from cdgraph.train.config import default, options

    text = (REPO / "docs" / "models.md").read_text()
    table = text.split("<!-- train-options -->", 1)[1].split("\n\n", 1)[0]
    rows = [line.split(" | ") for line in table.strip().splitlines()[2:]]
    documented = {r[0].strip("|` "): (r[1].strip("` "), r[2].rstrip("| ")) for r in rows}
    declared = {name: (repr(default(name)), field.metadata["help"]) for name, field in options().items()}
    assert documented == declared
