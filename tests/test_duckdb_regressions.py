"""Known DuckDB bugs that broke our builds, kept so that an upgrade that brings one back fails.

Each reproduction runs as a script in its own process: an INTERNAL error invalidates the
DuckDB database for the rest of the process, so it has to stay out of the test runner's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

REGRESSIONS = Path(__file__).parent / "duckdb_regressions"


def test_dict_cache_survives_constant_vectors() -> None:
    """duckdb 2.0.0: `dict-surviving cache: global dictionary column N changed identity`,
    in the data tests of int_tickets__sla (see the script's docstring)."""
    script = REGRESSIONS / "dict_cache_fatal.py"
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, (
        f"duckdb {duckdb.__version__} fails {script.name}:\n{result.stdout}{result.stderr}"
    )
