"""DuckDB regression: the dictionary-aware operator cache dies on a constant vector.

What it reproduces
------------------
DuckDB 2.0.0 fails with

    INTERNAL Error: dict-surviving cache: global dictionary column 1 changed identity after
    being seeded for dictionary caching

and the error invalidates the database for the rest of the process (every later statement
gets "FATAL Error: Failed: database has been invalidated because of a previous fatal
error"). DuckDB 2.0.1 runs both queries below and returns the right rows. The code is in
DuckDB's dictionary-aware cache of the caching operators (duckdb PR #23447 "Add
dictionary-aware cache operator", a follow-up of #23360 "dictionary surviving hash join").

The trigger, three operators in one pipeline:

1. An inner hash join emits its build-side columns as one *global* dictionary (the
   dict-surviving hash join). Its build side here is a 2-row dimension table.
2. A cross product with a small right side (`range(2)`, in our model the 15 rows of
   `search_days`) follows. For each left chunk it either keeps the left chunk as it is
   and makes each right row a constant, or, when the left chunk has fewer rows than the
   right side, it does the opposite and each left row becomes a CONSTANT vector.
3. A selective predicate over both sides follows (a FILTER above the cross product, or the
   same thing fused into a blockwise nested loop join). It passes a few rows at a time, and
   chunks that small go into the operator's cache.

The first 2,048-row chunk passes one row through the filter, still a dictionary over the
join's global dictionary, so the cache is seeded in dictionary mode for that column. The
last, 1-row chunk is smaller than the right side, so the cross product sends the same
column as a CONSTANT vector. The filter passes it and it goes into the same cache. DuckDB
2.0.0 takes a global dictionary whose identity "changes" for a producer bug and throws
(`AppendToCache` in src/execution/physical_operator.cpp upstream) instead of flattening
the column, as it does for other dictionaries. So it takes a chunk smaller than the cross
product's right side reaching the cross product after the cache was seeded. Whether that
happens depends on chunk boundaries (data volume, threads, the incremental day), which
would explain why it came and went in our runs.

How it was found
----------------
Seen in `make demo` (second run, dbt build) and `make bench BENCH_SCALES=30k` (the one-day
incremental refresh): the data tests of `intermediate.int_tickets__sla` died with "global
dictionary column 4 changed identity". On a copy of the 30k bench warehouse, a plain
`select count(*) from intermediate.int_tickets__sla` failed every time, even with
`SET threads=1`. The failing CTE is `business_due` (business_deadlines CROSS JOIN
search_days INNER JOIN int_business_calendar), and its plan is
HASH_JOIN -> CROSS_PRODUCT -> FILTER. `vector_type()` shows that `tier`, `ticket_id` and
`created_at` already leave the view `int_tickets__reply_times` as DICTIONARY_VECTORs (its
inner joins emit them). With `int_tickets__reply_times` or the `elapsed` CTE materialised
into a table first, the same query passed, presumably because then no join-made global
dictionary reaches the cross product. The first query below has the same plan on 2,049
synthetic rows. The second one uses the same data, but the planner fuses its predicate
into a blockwise NL join. Neither needs a persisted table or storage compression (both
fail in an in-memory database too): the hash join makes the global dictionary. The tables
are still created and checkpointed in a database file, like the warehouse's tables.

Versions: fails on duckdb 2.0.0 (10 runs out of 10; it does not vary, with threads 1, 2, 4
or the default); passes on duckdb 2.0.1 (10 out of 10).

Run: `python tests/duckdb_regressions/dict_cache_fatal.py` exits 0 when every query
returns the expected rows, 1 with the DuckDB error otherwise. Each query runs in a fresh
database file in its own temporary folder, because one failure invalidates the database.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import duckdb

# 2,049 rows: one full 2,048-row chunk and a 1-row tail chunk, smaller than range(2).
SETUP = """
CREATE TABLE facts AS SELECT range AS id, range // 2048 AS k FROM range(2049);
CREATE TABLE dim AS SELECT * FROM (VALUES (0, 'a', 0), (1, 'b', 2048)) AS t(k, label, base);
CHECKPOINT;
"""

QUERIES = {
    # The shape of int_tickets__sla's business_due: HASH_JOIN -> CROSS_PRODUCT -> FILTER.
    "hash join, cross product, filter": """
        SELECT f.id, d.label, s.o
        FROM facts AS f
        CROSS JOIN range(2) AS s(o)
        INNER JOIN dim AS d ON f.k = d.k AND d.base = f.id + CAST(s.o AS INTEGER)
        ORDER BY ALL
    """,
    # The same rows with the predicate fused into a BLOCKWISE_NL_JOIN.
    "hash join, blockwise nl join": """
        SELECT f.id, d.label, s.o
        FROM facts AS f
        INNER JOIN dim AS d ON f.k = d.k
        CROSS JOIN range(2) AS s(o)
        WHERE f.id + s.o = d.base
        ORDER BY ALL
    """,
}
EXPECTED = [(0, "a", 0), (2048, "b", 0)]
THREADS = (1, 4)


def run(name: str, sql: str, threads: int) -> str | None:
    """None when the query returns the expected rows, else what went wrong."""
    with tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "repro.duckdb"))
        try:
            con.execute(f"SET threads = {threads}")
            con.execute(SETUP)
            rows = con.execute(sql).fetchall()
        except duckdb.Error as error:
            return f"{type(error).__name__}: {str(error).splitlines()[0]}"
        finally:
            con.close()
    if rows != EXPECTED:
        return f"wrong result {rows}, expected {EXPECTED}"
    return None


def main() -> int:
    failures = 0
    for name, sql in QUERIES.items():
        for threads in THREADS:
            problem = run(name, sql, threads)
            status = "ok" if problem is None else f"FAILED {problem}"
            print(f"duckdb {duckdb.__version__}, {name}, threads={threads}: {status}")
            failures += problem is not None
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
