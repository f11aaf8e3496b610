"""Quality library: each planted fault fails the right check with the right severity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from extracts.contracts import HELPDESK_TICKET_EVENTS, HELPDESK_TICKETS
from extracts.ingest import ensure_tables
from quality.docs import write_index, write_validation_pages
from quality.gates import by_gate, gates_for, run_sql_checks, run_suite, validate_table
from quality.results import (
    RESULTS_TABLE,
    Window,
    ensure_results_table,
    latest_results,
    write_results,
)
from quality.suites import (
    MART_SUITES,
    RAW_TELEMETRY_EVENTS,
    RAW_TICKET_EVENTS,
    RAW_TICKETS,
    get_suite,
    suites,
)
from quality.table_checks import check_volume

FIRST = dt.date(2026, 5, 1)
DAYS = 20
LAST = FIRST + dt.timedelta(days=DAYS - 1)
PER_DAY = 100
TICKETS = "raw.helpdesk_tickets"
EVENTS = "raw.helpdesk_ticket_events"


@pytest.fixture
def con(tmp_path: Path):
    """A clean warehouse: 20 days x 100 tickets, each with a created and a CSAT event."""
    c = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for entity in (HELPDESK_TICKETS, HELPDESK_TICKET_EVENTS):
        ensure_tables(c, entity)
    c.execute(
        f"""INSERT INTO {TICKETS} BY NAME
        SELECT d * {PER_DAY} + i AS ticket_id,
               DATE '{FIRST}' + INTERVAL (d) DAY + INTERVAL (i * 13) MINUTE AS created_at,
               ['email', 'chat', 'phone', 'web', 'bot'][i % 5 + 1] AS channel,
               'billing' AS category, 'normal' AS priority,
               CASE WHEN i % 10 = 0 THEN 'vip' ELSE 'standard' END AS tier,
               'A' || (i % 7) AS account_id, 'R' || i AS requester_id,
               sha256('e' || i) AS requester_email_hash, 12 AS subject_chars,
               0.1 AS subject_sentiment, 'en' AS subject_language,
               CAST(DATE '{FIRST}' + INTERVAL (d) DAY AS DATE) AS _landing_date,
               'tickets.jsonl' AS _source_file, i + 1 AS _source_line, false AS _is_late,
               TIMESTAMP '2026-06-01 00:00:00' AS _loaded_at
        FROM range({DAYS}) r(d), range({PER_DAY}) s(i)"""
    )
    c.execute(
        f"""INSERT INTO {EVENTS} BY NAME
        SELECT ticket_id * 2 + k AS event_id, ticket_id,
               CASE k WHEN 0 THEN 'created' ELSE 'agent_reply' END AS event_type,
               created_at + INTERVAL (k * 5) MINUTE AS created_at,
               CASE k WHEN 0 THEN 'requester' ELSE 'agent' END AS actor_type,
               CASE k WHEN 1 THEN 120 END AS handle_seconds,
               CASE k WHEN 1 THEN 5 END AS csat_score,
               _landing_date, 'ticket_events.jsonl' AS _source_file, ticket_id AS _source_line,
               false AS _is_late, _loaded_at
        FROM {TICKETS}, range(2) r(k)"""
    )
    yield c
    c.close()


def failed(result) -> dict[str, str]:
    """Failing checks by label, with their severity."""
    return {o.expectation: o.severity for o in result.outcomes if not o.success}


def test_suite_name_constants_and_gates() -> None:
    """The names code uses for suites are the suites' names, and decide their gates."""
    assert (RAW_TICKETS, RAW_TICKET_EVENTS, RAW_TELEMETRY_EVENTS) == (
        "raw.helpdesk_tickets",
        "raw.helpdesk_ticket_events",
        "raw.telemetry_events",
    )
    assert MART_SUITES == (
        "marts.fct_tickets",
        "marts.fct_support_kpis_daily",
        "features.feat_account_daily",
    )
    assert [n for n, d in suites().items() if not d.is_raw] == list(MART_SUITES)
    # sanity: the events' body_chars and body_sentiment have warning ranges
    assert gates_for(get_suite("raw.helpdesk_ticket_events")) == [
        "contract", "sanity", "quarantine", "late_rows", "volume", "freshness", "integrity",
    ]  # fmt: skip
    assert gates_for(get_suite("marts.fct_tickets")) == [
        "contract", "sanity", "volume", "freshness", "distribution",
    ]  # fmt: skip
    assert gates_for(get_suite("marts.fct_support_kpis_daily")) == ["contract", "freshness"]


def test_every_suite_builds_with_tagged_expectations() -> None:
    assert set(suites()) == {
        "raw.helpdesk_tickets",
        "raw.helpdesk_ticket_events",
        "raw.crm_accounts",
        "raw.crm_contacts",
        "raw.crm_subscriptions",
        "raw.telemetry_events",
        "marts.fct_tickets",
        "marts.fct_support_kpis_daily",
        "features.feat_account_daily",
    }
    for definition in suites().values():
        assert {e.severity for e in definition.expectations} <= {"critical", "warning"}
        labels = [e.label for e in definition.expectations]
        assert len(labels) == len(set(labels))
    # Derived from the contract: every required field is checked for nulls.
    raw = get_suite(TICKETS)
    for f in HELPDESK_TICKETS.fields:
        if f.required and not f.pii:
            assert raw.expectation(f"expect_column_values_to_not_be_null({f.name})")


def test_clean_tables_pass_every_check(con) -> None:
    for window in (Window.day(LAST), Window(FIRST, LAST + dt.timedelta(days=1))):
        for suite in (TICKETS, EVENTS):
            result = run_suite(con, suite, window)
            assert result.success, failed(result)
            assert result.rows == PER_DAY * len(window.days) * (2 if suite == EVENTS else 1)
            kinds = {o.kind for o in result.outcomes}
            assert kinds == {"ge", "sql"}


@pytest.mark.parametrize(
    ("table", "fault_sql", "label"),
    [
        (
            TICKETS,
            f"UPDATE {TICKETS} SET account_id = NULL WHERE ticket_id = 1903",
            "expect_column_values_to_not_be_null(account_id)",
        ),
        (
            EVENTS,
            f"UPDATE {EVENTS} SET csat_score = 7 WHERE event_id = 3807",
            "expect_column_values_to_be_between(csat_score)[1..5]",
        ),
        (
            EVENTS,
            f"UPDATE {EVENTS} SET handle_seconds = -30 WHERE event_id = 3807",
            "expect_column_values_to_be_between(handle_seconds)[0..]",
        ),
        (
            TICKETS,
            f"INSERT INTO {TICKETS} SELECT * FROM {TICKETS} WHERE ticket_id = 1950",
            "expect_column_values_to_be_unique(ticket_id)",
        ),
        (
            TICKETS,
            f"UPDATE {TICKETS} SET channel = 'fax' WHERE ticket_id = 1910",
            "expect_column_values_to_be_in_set(channel)",
        ),
    ],
    ids=["null_required", "csat_7", "negative_duration", "duplicate_key", "unknown_enum"],
)
@pytest.mark.parametrize("engine", ["gx", "sql"])
def test_row_fault_fails_its_expectation_as_critical(con, table, fault_sql, label, engine) -> None:
    con.execute(fault_sql)
    where = Window.day(LAST).where("_landing_date")
    result = validate_table(con, table, where_sql=where, engine=engine)
    assert failed(result) == {label: "critical"}
    assert not result.passed_critical
    expected = 2 if "unique" in label else 1  # GE counts both rows of a duplicated key
    assert result.outcome(label).unexpected_count == expected
    # The other days of the table are untouched: their window passes.
    assert validate_table(con, table, where_sql=Window.day(FIRST).where("_landing_date")).success


def test_duplicates_are_found_across_batches(con) -> None:
    con.execute(f"INSERT INTO {TICKETS} SELECT * FROM {TICKETS} WHERE ticket_id IN (5, 77, 1999)")
    result = validate_table(con, TICKETS, batch_rows=300)
    assert result.batches == 7
    assert failed(result) == {"expect_column_values_to_be_unique(ticket_id)": "critical"}
    assert result.outcome("expect_column_values_to_be_unique(ticket_id)").unexpected_count == 6


def test_warning_does_not_block(con) -> None:
    con.execute(f"UPDATE {TICKETS} SET subject_sentiment = 3 WHERE ticket_id = 1901")
    result = validate_table(con, TICKETS, where_sql=Window.day(LAST).where("_landing_date"))
    assert failed(result) == {
        "expect_column_values_to_be_between(subject_sentiment)[-1..1]": "warning"
    }
    assert result.passed_critical and not result.success


def test_renamed_column_fails_schema(con) -> None:
    con.execute(f"ALTER TABLE {TICKETS} RENAME COLUMN priority TO prio")
    result = validate_table(con, TICKETS)
    assert failed(result) == {
        "expect_table_columns_to_match_set()": "critical",
        "expect_column_values_to_be_in_set(priority)": "critical",
        "expect_column_values_to_not_be_null(priority)": "critical",
    }
    types = run_sql_checks(con, TICKETS, Window.day(LAST)).outcome("column_types")
    assert not types.success and set(types.observed_value) == {"priority", "prio"}


def test_day_with_a_tenth_of_the_volume_fails_volume(con) -> None:
    con.execute(
        f"DELETE FROM {TICKETS} WHERE _landing_date = DATE '{LAST}' AND ticket_id % 10 <> 0"
    )
    result = run_sql_checks(con, TICKETS, Window.day(LAST))
    assert failed(result) == {"volume(_landing_date)": "critical"}
    assert result.outcome("volume(_landing_date)").observed_value["ratio"] == pytest.approx(0.1)


def test_small_volumes_fail_volume_only_beyond_chance() -> None:
    """12 rows a day: 5 is under half, but within 3 sqrt(12) of it; 1 is not."""
    con = duckdb.connect()
    days = [FIRST + dt.timedelta(days=i) for i in range(15)]
    con.execute("CREATE TABLE daily (_landing_date DATE)")
    for day in days[:-1]:
        rows = 12 if day.weekday() < 5 else 4
        con.execute("INSERT INTO daily SELECT ?::DATE FROM range(?)", [day, rows])
    weekday = next(d for d in reversed(days) if d.weekday() < 5)
    con.execute("DELETE FROM daily WHERE _landing_date = ?", [weekday])
    con.execute("INSERT INTO daily SELECT ?::DATE FROM range(5)", [weekday])
    outcome = check_volume(con, TICKETS, Window.day(weekday), table="daily")
    assert outcome.success and outcome.observed_value["ratio"] == pytest.approx(5 / 12, abs=1e-3)
    con.execute("DELETE FROM daily WHERE _landing_date = ?", [weekday])
    con.execute("INSERT INTO daily SELECT ?::DATE FROM range(1)", [weekday])
    assert not check_volume(con, TICKETS, Window.day(weekday), table="daily").success


def _weekday_volumes(history: list[int], today: int) -> tuple[duckdb.DuckDBPyConnection, dt.date]:
    """A table with `history` rows on consecutive weekdays, weekends empty, then `today`."""
    con = duckdb.connect()
    con.execute("CREATE TABLE daily (_landing_date DATE)")
    weekdays = (FIRST + dt.timedelta(days=i) for i in range(60))
    days = [d for d in weekdays if d.weekday() < 5][: len(history) + 1]
    for day, rows in zip(days, [*history, today], strict=True):
        con.execute("INSERT INTO daily SELECT ?::DATE FROM range(?)", [day, rows])
    return con, days[-1]


def test_a_spike_ordinary_for_a_bursty_table_passes_volume() -> None:
    """2.1x the median: beyond Poisson noise, but within 3x the spread these days show
    (median 106, absolute deviations 40, 42, 22, 22: robust sigma 1.4826 x 31 = 46)."""
    con, today = _weekday_volumes([66, 148, 84, 128], 225)
    outcome = check_volume(con, TICKETS, Window.day(today), table="daily")
    assert outcome.success, outcome.observed_value
    assert outcome.observed_value["sigma"] == pytest.approx(45.96, abs=0.01)
    # The same spike after steady days is not ordinary; nor is a tenth after bursty ones.
    steady, today = _weekday_volumes([100, 104, 98, 102], 225)
    assert not check_volume(steady, TICKETS, Window.day(today), table="daily").success
    bursty, today = _weekday_volumes([66, 148, 84, 128], 10)
    assert not check_volume(bursty, TICKETS, Window.day(today), table="daily").success


def test_stale_partition_fails_freshness(con) -> None:
    # The last day's extract stopped at 09:00: nothing for the last 15 hours of the day.
    con.execute(f"DELETE FROM {EVENTS} WHERE created_at >= TIMESTAMP '{LAST} 09:00:00'")
    result = run_sql_checks(con, EVENTS, Window.day(LAST))
    assert failed(result) == {
        "freshness(created_at)": "critical",
        "volume(_landing_date)": "critical",
    }
    assert result.outcome("freshness(created_at)").observed_value["worst_lag_hours"] > 6


def test_orphan_events_fail_referential_integrity(con) -> None:
    con.execute(f"DELETE FROM {TICKETS} WHERE _landing_date = DATE '{LAST}' AND ticket_id % 4 = 0")
    result = run_sql_checks(con, EVENTS, Window.day(LAST))
    label = "referential_integrity(ticket_id->raw.helpdesk_tickets.ticket_id)"
    assert failed(result) == {label: "critical"}
    assert result.outcome(label).unexpected_count == 2 * PER_DAY // 4


def test_results_table_and_docs(con, tmp_path: Path) -> None:
    window = Window.day(LAST)
    con.execute(f"UPDATE {TICKETS} SET channel = 'fax' WHERE ticket_id = 1910")
    results = [run_suite(con, TICKETS, window), run_suite(con, EVENTS, window)]
    ensure_results_table(con)
    ensure_results_table(con)  # idempotent
    n = sum(len(r.outcomes) for r in results)
    assert write_results(con, results, "run-1", window) == n
    assert write_results(con, results, "run-2", window) == n
    rows = con.execute(
        f"SELECT run_id, count(*), count(*) FILTER (WHERE NOT success), min(partition_start) "
        f"FROM {RESULTS_TABLE} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [("run-1", n, 1, LAST), ("run-2", n, 1, LAST)]
    bad = [r for r in latest_results(con) if not r["success"]]
    assert [(r["suite"], r["expectation"], r["severity"]) for r in bad] == [
        (TICKETS, "expect_column_values_to_be_in_set(channel)", "critical")
    ]
    docs = tmp_path / "quality_docs"
    for result in results:
        assert len(write_validation_pages(result, docs)) == 1
    text = write_index(con, docs).read_text()
    assert "expect_column_values_to_be_in_set(channel)" in text and "volume(_landing_date)" in text
    assert "FAIL" in text and "validations/raw.helpdesk_tickets-1.html" in text
    assert len(list((docs / "validations").glob("*.html"))) == 2


def _quarantine(con, day: dt.date, kind: str, n: int) -> None:
    con.execute(
        f"""INSERT INTO quarantine.helpdesk_tickets BY NAME
            SELECT DATE '{day}' AS _landing_date, 'tickets.jsonl' AS _source_file,
                   i AS _source_line, 'channel' AS field, '{kind}' AS fault_kind,
                   'planted' AS reason, TIMESTAMP '2026-06-01' AS _loaded_at FROM range({n}) r(i)"""
    )


def test_quarantine_share_is_judged_per_day_and_kind(con) -> None:
    whole = Window(FIRST, LAST + dt.timedelta(days=1))
    _quarantine(con, FIRST, "null_required", 1)  # 1 of 101 read: under 1%
    _quarantine(con, LAST, "unknown_enum", 1)
    assert run_sql_checks(con, TICKETS, whole).outcome("quarantine_share(fault_kind)").success
    _quarantine(con, LAST, "unknown_enum", 1)  # 2 of 102: over 1%, but under the 3-row floor
    assert run_sql_checks(con, TICKETS, whole).outcome("quarantine_share(fault_kind)").success
    _quarantine(con, LAST, "unknown_enum", 1)  # 3 of 103 on one day: over 1%, even in 20 days
    outcome = run_sql_checks(con, TICKETS, whole).outcome("quarantine_share(fault_kind)")
    assert not outcome.success and outcome.gate == "quarantine"
    assert outcome.observed_value["over_limit"] == [
        {"day": str(LAST), "kind": "unknown_enum", "rows": 3, "rows_read": 103, "share": 0.0291}
    ]
    assert outcome.observed_value["quarantined_by_kind"] == {"null_required": 1, "unknown_enum": 3}


def test_late_rows_over_five_percent_of_a_day_fail(con) -> None:
    con.execute(f"UPDATE {EVENTS} SET _is_late = true WHERE event_id % 200 < 10")  # 5%: passes
    assert run_sql_checks(con, EVENTS, Window.day(LAST)).outcome("late_share(_is_late)").success
    con.execute(f"UPDATE {EVENTS} SET _is_late = true WHERE event_id % 200 < 12")
    outcome = run_sql_checks(con, EVENTS, Window.day(LAST)).outcome("late_share(_is_late)")
    assert not outcome.success and outcome.unexpected_count == 12


def test_one_stale_day_inside_a_backfill_fails_freshness(con) -> None:
    middle = FIRST + dt.timedelta(days=9)
    con.execute(
        f"DELETE FROM {TICKETS} WHERE _landing_date = DATE '{middle}' AND ticket_id % 100 > 30"
    )
    result = run_sql_checks(con, TICKETS, Window(FIRST, LAST + dt.timedelta(days=1)))
    freshness = result.outcome("freshness(created_at)")
    assert not freshness.success
    assert list(freshness.observed_value["stale_days"]) == [str(middle)]
    assert {g.name for g in by_gate(result) if not g.passed} == {"freshness", "volume"}
    later = Window(middle + dt.timedelta(days=1), LAST + dt.timedelta(days=1))
    gates = by_gate(run_suite(con, TICKETS, later))
    assert [g.name for g in gates] == gates_for(get_suite(TICKETS))
    assert all(g.passed and g.outcomes for g in gates)
