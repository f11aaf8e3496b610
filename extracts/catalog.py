"""What a DuckDB database holds, asked the same way everywhere."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this at start: no DuckDB load for `--help`
    import duckdb


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether `schema.table` (a table or a view) is in the connection's own database.

    Reads the catalog only, so a read-only connection (the serving copy, a warehouse a run
    may be about to write) can ask before it reads; the result is read whole, since a
    half-read result would block a later `register` on the same connection."""
    schema, _, name = qualified.partition(".")
    (count,) = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()[0]
    return bool(count)
