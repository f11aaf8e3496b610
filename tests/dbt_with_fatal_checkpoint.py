"""dbt whose DuckDB fails its first checkpoint: a real FATAL error inside a real dbt build.

DuckDB's `debug_checkpoint_abort` makes a checkpoint raise a FatalException, which, like the
DuckDB 2.0.0 dictionary-cache bug, invalidates the database for the rest of the process; a
checkpoint threshold of one byte makes the first committed write checkpoint. The tests run
this file in place of the `dbt` executable.
"""

import sys

import duckdb
from dbt.cli.main import cli

_connect = duckdb.connect


def _connect_failing_at_checkpoint(*args, **kwargs) -> duckdb.DuckDBPyConnection:
    con = _connect(*args, **kwargs)
    con.execute("SET checkpoint_threshold = '1B'")
    con.execute("SET debug_checkpoint_abort = 'before_header'")
    return con


duckdb.connect = _connect_failing_at_checkpoint

if __name__ == "__main__":
    sys.exit(cli())
