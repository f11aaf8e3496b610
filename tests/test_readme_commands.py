"""Every `./supportops ...` command the README, the Makefile and the CLI's own hints print
exists, and the wrapper runs without uv on the PATH (it needs only `make install`'s .venv)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestration.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ["README.md", "Makefile", "orchestration/cli.py", "orchestration/fatal.py"]
COMMAND = re.compile(r"\./supportops ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)")


def _printed_commands() -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for name in DOCUMENTS:
        for words in COMMAND.findall((ROOT / name).read_text()):
            found.add(tuple(words.split()))
    return found


def test_the_documents_print_commands() -> None:
    assert {("materialize",), ("sources", "load"), ("kpis",)} <= {
        c[:2] if c[0] == "sources" else c[:1] for c in _printed_commands()
    }


@pytest.mark.parametrize("words", sorted(_printed_commands()))
def test_each_printed_command_exists(words: tuple[str, ...]) -> None:
    # a second word may be an argument (a path, a kind) rather than a subcommand
    first = CliRunner().invoke(app, [words[0], "--help"])
    assert first.exit_code == 0, f"./supportops {words[0]}: {first.output}"
    if len(words) == 2 and words[0] == "sources":
        second = CliRunner().invoke(app, [*words, "--help"])
        assert second.exit_code == 0, f"./supportops {' '.join(words)}: {second.output}"


def test_the_wrapper_runs_without_uv_on_the_path() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTOPS_", "VIRTUAL_ENV"))}
    env["PATH"] = "/usr/bin:/bin"
    result = subprocess.run(
        [str(ROOT / "supportops"), "sources", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "load" in result.stdout
