"""Every SQL statement the dashboards run, against the published serving database only.

Why it is shaped this way:
- The pipeline swaps serving.duckdb with `os.replace`; a connection kept open would keep
  reading the old file. Each query opens a short-lived read-only connection instead.
- Results are cached with `st.cache_data(ttl=...)`, keyed by `Serving` (path, inode,
  mtime): a new publish is a new key, so it shows at the next rerun, not after the TTL.
- User choices travel as `?` parameters, never formatted into the SQL text. The only
  formatted parts are identifiers from fixed dictionaries here or from the catalog.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import duckdb
import pandas as pd
import streamlit as st

from ml.feedback import LATEST_TICKET_SCORES
from serving.kpis import KpiRow, rows_from, sums_sql

TTL_SECONDS = 600


class Serving(NamedTuple):
    """Identity of one published serving file: a new publish changes inode and mtime."""

    path: str
    inode: int
    mtime_ns: int


class Filters(NamedTuple):
    """Ticket filters; an empty tuple means no restriction on that dimension."""

    first_day: dt.date
    last_day: dt.date
    channels: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()

    def shifted_back(self) -> Filters:
        """The previous period of equal length, same dimension filters."""
        length = self.last_day - self.first_day + dt.timedelta(days=1)
        return self._replace(
            first_day=self.first_day - length, last_day=self.first_day - dt.timedelta(days=1)
        )

    def params(self) -> list:
        return [
            self.first_day,
            self.last_day,
            list(self.channels),
            list(self.tiers),
            list(self.categories),
            list(self.segments),
        ]


def serving_file(path: Path) -> Serving | None:
    """The serving file's identity, or None when nothing has been published yet."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return Serving(str(path), stat.st_ino, stat.st_mtime_ns)


@st.cache_resource(max_entries=1, show_spinner=False)
def serving_handle(db: Serving) -> duckdb.DuckDBPyConnection:
    """One read-only handle on a published copy, shared by every query of every session:
    opening the file costs about 20 ms, more than most page queries take. The copy is
    attached to an in-memory database, not opened by path, because DuckDB hands a later
    `connect(path)` in the same process the instance already open for that path, which
    after a publish (a new file renamed over the path) is the old copy. A new copy's
    identity makes a new handle; the old one goes with its cache entry."""
    con = duckdb.connect()
    quoted = db.path.replace("'", "''")
    con.execute(f"ATTACH '{quoted}' AS serving (READ_ONLY)")
    return con


@contextmanager
def _cursor(db: Serving) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of the copy's shared handle (one per query: cursors may run in parallel)."""
    with serving_handle(db).cursor() as cursor:
        cursor.execute("USE serving")
        yield cursor


def _frame(db: Serving, sql: str, params: list | None = None) -> pd.DataFrame:
    with _cursor(db) as con:
        return con.execute(sql, params or []).df()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def tables(db: Serving) -> frozenset[str]:
    """`schema.table` names in the file, so pages can tell what has been published."""
    frame = _frame(db, "SELECT schema_name || '.' || table_name AS name FROM duckdb_tables()")
    return frozenset(frame["name"])


def has_tables(db: Serving, *names: str) -> bool:
    """Whether every `schema.table` is published (the `ml` schema arrives with the models)."""
    return set(names) <= tables(db)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def serving_info(db: Serving) -> tuple[dt.datetime, dt.date | None]:
    """When the file was published and the newest landing day it reflects."""
    row = _frame(db, "SELECT published_at, data_as_of FROM main.serving_info").iloc[0]
    as_of = None if pd.isna(row["data_as_of"]) else pd.Timestamp(row["data_as_of"]).date()
    return pd.Timestamp(row["published_at"]).to_pydatetime(), as_of


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def filter_options(db: Serving) -> dict:
    """Date bounds and the values each filter offers."""
    bounds = _frame(
        db, "SELECT min(kpi_date) AS lo, max(kpi_date) AS hi FROM marts.fct_support_kpis_daily"
    )
    options = _frame(
        db,
        """SELECT 'channel' AS dim, channel AS value FROM marts.fct_support_kpis_daily
           UNION SELECT 'tier', tier FROM marts.fct_support_kpis_daily
           UNION SELECT 'category', category FROM marts.fct_support_kpis_daily
           UNION SELECT 'segment', segment FROM marts.fct_support_kpis_daily
           ORDER BY 1, 2""",
    )
    result = {dim: tuple(g["value"].dropna()) for dim, g in options.groupby("dim")}
    result["first_day"] = pd.Timestamp(bounds["lo"].iloc[0]).date()
    result["last_day"] = pd.Timestamp(bounds["hi"].iloc[0]).date()
    return result


# The filters as one row `f`, joined to what is filtered: user choices stay `?` parameters.
_FILTERS = """
WITH f AS (
    SELECT ?::DATE AS first_day, ?::DATE AS last_day, ?::VARCHAR[] AS channels,
           ?::VARCHAR[] AS tiers, ?::VARCHAR[] AS categories, ?::VARCHAR[] AS segments
)"""
_DIMENSIONS_MATCH = """
      (len(f.channels) = 0 OR list_contains(f.channels, {t}.channel))
      AND (len(f.tiers) = 0 OR list_contains(f.tiers, {t}.tier))
      AND (len(f.categories) = 0 OR list_contains(f.categories, {t}.category))
      AND (len(f.segments) = 0 OR list_contains(f.segments, {t}.segment))"""

# The KPI mart rows the filters select. The mart's grain has the segment (as of the creation
# day), so every filter is a WHERE on it and no page re-aggregates ticket rows for a KPI.
_MART_WHERE = "m.kpi_date BETWEEN f.first_day AND f.last_day AND" + _DIMENSIONS_MATCH.format(t="m")

# The account segment of a ticket as of its creation day, joined the way the KPI mart joins
# it ('unknown' without a version).
_TICKET_SEGMENT_JOIN = """
    LEFT JOIN marts.dim_accounts AS a
      ON a.account_id = t.account_id
     AND t.created_date >= a.valid_from
     AND (a.valid_to IS NULL OR t.created_date < a.valid_to)"""


def _filtered_tickets(filters: Filters) -> str:
    """The `tickets` CTE for the pages that list or plot individual tickets: the fct_tickets
    rows the filters select. The segment is joined only when the segment filter is set: no
    page shows it, and over the whole history the range join to dim_accounts cost more than
    the rest of a page's query (1M tickets)."""
    segment, join = ("coalesce(a.segment, 'unknown')", _TICKET_SEGMENT_JOIN)
    if not filters.segments:
        segment, join = ("CAST(NULL AS VARCHAR)", "")
    return (
        _FILTERS
        + f""",
ticket_segments AS (
    SELECT t.*, {segment} AS segment
    FROM marts.fct_tickets AS t
    CROSS JOIN f{join}
    WHERE t.created_date BETWEEN f.first_day AND f.last_day
),
tickets AS (
    SELECT ticket_segments.* FROM ticket_segments CROSS JOIN f
    WHERE"""
        + _DIMENSIONS_MATCH.format(t="ticket_segments")
        + """
)
"""
    )


GROUPS = {
    "all": "'all'",
    "week": "CAST(date_trunc('week', kpi_date) AS DATE)",
    "channel": "channel",
    "tier": "tier",
    "category": "category",
    "segment": "segment",
}


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def kpis(db: Serving, filters: Filters, by: str = "all") -> list[KpiRow]:
    """The registry's KPIs over the filtered KPI mart rows, one row per `by` group."""
    sql = (
        _FILTERS
        + " "
        + sums_sql("marts.fct_support_kpis_daily AS m CROSS JOIN f", GROUPS[by], _MART_WHERE)
    )
    with _cursor(db) as con:
        return rows_from(con.execute(sql, filters.params()))


# The measures `ticket_times` spreads, each a fct_tickets column of minutes.
_TIME_MEASURES = ("first_reply_minutes", "full_resolution_minutes")


def _ticket_times_sql() -> str:
    """Per tier, every measure side by side in one scan (a union of the measures grouped by
    measure cost a third more at 1M tickets): the quartiles, then the whiskers in a second
    scan against them (gathering each group's values into a list to filter it cost more)."""
    quartiles = ",\n           ".join(
        f"count({m}) AS {m}_tickets, quantile_cont({m}, [0.25, 0.5, 0.75, 0.9]) AS {m}_q"
        for m in _TIME_MEASURES
    )
    fences = ",\n           ".join(
        f"min(t.{m}) FILTER (t.{m} >= q.{m}_q[1] - 1.5 * (q.{m}_q[3] - q.{m}_q[1])) AS {m}_lower,"
        f"\n           max(t.{m}) FILTER (t.{m} <= q.{m}_q[3] + 1.5 * (q.{m}_q[3] - q.{m}_q[1])) AS {m}_upper"
        for m in _TIME_MEASURES
    )
    rows = "\nUNION ALL\n".join(
        f"""SELECT '{m}' AS measure, tier, {m}_tickets AS tickets, {m}_q[1] AS q1,
       {m}_q[2] AS median, {m}_q[3] AS q3, {m}_q[4] AS p90,
       {m}_lower AS lower_fence, {m}_upper AS upper_fence
FROM quartiles JOIN fences USING (tier) WHERE {m}_tickets > 0"""
        for m in _TIME_MEASURES
    )
    return f""",
quartiles AS (
    SELECT tier,
           {quartiles}
    FROM tickets GROUP BY tier
),
fences AS (
    SELECT t.tier,
           {fences}
    FROM tickets AS t JOIN quartiles AS q ON t.tier = q.tier
    GROUP BY t.tier
)
{rows}
ORDER BY measure, tier"""


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def ticket_times(db: Serving, filters: Filters) -> pd.DataFrame:
    """The spread of first reply and full resolution minutes per tier (`measure`): tickets,
    quartiles, p90 and the box's whiskers (the furthest tickets within 1.5 interquartile
    ranges of the box, as Plotly draws them). Aggregated here, so the page reads a row per
    tier and measure, never every ticket of the range."""
    return _frame(db, _filtered_tickets(filters) + _ticket_times_sql(), filters.params())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def daily_queue(db: Serving, filters: Filters) -> pd.DataFrame:
    """Tickets created and solved per day and the backlog (a stock) at each day's end: the
    backlog is summed over the selected cells of one day, never over days."""
    return _frame(
        db,
        _FILTERS
        + """
        SELECT m.kpi_date AS day, sum(m.tickets) AS created, sum(m.solved_tickets) AS solved,
               sum(m.backlog_tickets) AS backlog
        FROM marts.fct_support_kpis_daily AS m CROSS JOIN f
        WHERE """
        + _MART_WHERE
        + " GROUP BY ALL ORDER BY 1",
        filters.params(),
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def open_tickets_by_risk(
    db: Serving, filters: Filters, limit: int = 50, actions: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Open tickets (`fct_tickets.is_open`) with their latest escalation score and the triage
    policy's action on it, riskiest first; only those of `actions` when given."""
    return _frame(
        db,
        _filtered_tickets(filters)
        + """, scores AS (
    """
        + LATEST_TICKET_SCORES
        + """
            )
            SELECT t.ticket_id, t.created_at, t.channel, t.category, t.tier, t.priority,
                   s.escalation_probability, s.action, s.queue, s.rule, s.sla_risk,
                   s.model_version, s.policy_version
            FROM tickets AS t JOIN scores AS s USING (ticket_id)
            WHERE t.is_open AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], s.action))
            ORDER BY s.escalation_probability DESC, t.ticket_id
            LIMIT ?""",
        [*filters.params(), list(actions), list(actions), limit],
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def outreach_options(db: Serving) -> dict[str, tuple[str, ...]]:
    frame = _frame(
        db,
        """SELECT 'segment' AS dim, segment AS value FROM ml.outreach_list
           UNION SELECT 'owner', owner FROM ml.outreach_list ORDER BY 1, 2""",
    )
    return {dim: tuple(g["value"].dropna()) for dim, g in frame.groupby("dim")}


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def outreach(
    db: Serving, segments: tuple[str, ...], owners: tuple[str, ...], min_probability: float
) -> pd.DataFrame:
    """The ranked at-risk list with its reasons, filtered."""
    return _frame(
        db,
        """WITH f AS (SELECT ?::DOUBLE AS min_p, ?::VARCHAR[] AS segments, ?::VARCHAR[] AS owners)
           SELECT o.rank, o.account_id, o.account_name, o.segment, o.tier, o.plan, o.owner,
                  o.arr, o.churn_probability, o.revenue_at_risk, o.health_band,
                  o.reason_1, o.reason_2, o.reason_3, o.as_of_date
           FROM ml.outreach_list AS o CROSS JOIN f
           WHERE o.churn_probability >= f.min_p
             AND (len(f.segments) = 0 OR list_contains(f.segments, o.segment))
             AND (len(f.owners) = 0 OR list_contains(f.owners, o.owner))
           ORDER BY o.rank""",
        [min_probability, list(segments), list(owners)],
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def model_versions(db: Serving) -> pd.DataFrame:
    return _frame(
        db,
        """SELECT task, version, status, trained_at, train_start, train_end, test_start, test_end,
                  coalesce(cast(json_extract(card, '$.parameters.review_labels') AS INTEGER), 0)
                      AS review_labels
           FROM ml.model_versions ORDER BY task, status = 'champion' DESC, trained_at DESC""",
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def champion_evaluations(db: Serving) -> pd.DataFrame:
    """Each champion's metrics beside the logistic, its rule baseline and the ceiling."""
    return _frame(
        db,
        """SELECT e.task, e.version, e.scorer, e.roc_auc, e.pr_auc, e.brier, e.base_rate_brier,
                  e.top_decile_lift, e.rows, e.positives
           FROM ml.evaluations AS e
           JOIN ml.model_versions AS v USING (task, version)
           WHERE v.status = 'champion'
           ORDER BY e.task,
                    CASE e.scorer WHEN 'model' THEN 0 WHEN 'logistic' THEN 1
                                  WHEN 'ceiling' THEN 3 ELSE 2 END""",
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def champion_signals(db: Serving) -> pd.DataFrame:
    """Each champion's named signals (the ticket burst) against the model, from its card."""
    frame = _frame(
        db,
        "SELECT task, version, card FROM ml.model_versions WHERE status = 'champion' ORDER BY task",
    )
    rows = [
        {"task": r.task, "signal": name, **numbers}
        for r in frame.itertuples()
        for name, numbers in json.loads(r.card).get("signals", {}).items()
    ]
    return pd.DataFrame(rows)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def champion_calibration(db: Serving) -> pd.DataFrame:
    return _frame(
        db,
        """SELECT c.task, c.version, c.bin, c.mean_predicted, c.observed_rate, c.rows
           FROM ml.calibration AS c
           JOIN ml.model_versions AS v USING (task, version)
           WHERE v.status = 'champion'
           ORDER BY c.task, c.bin""",
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def latest_drift(db: Serving) -> pd.DataFrame:
    """The newest drift check per task and kind."""
    return _frame(
        db,
        """SELECT task, version, kind, checked_at, detected, drift_share, threshold,
                  drifted_columns, columns, report_path
           FROM ml.drift
           QUALIFY row_number() OVER (PARTITION BY task, kind ORDER BY checked_at DESC) = 1
           ORDER BY task, kind""",
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def latest_checks(db: Serving) -> pd.DataFrame:
    """Outcomes of the newest run of each quality suite, failures first."""
    return _frame(
        db,
        """SELECT suite, check_name, expectation, column_name, severity, success,
                  unexpected_count, element_count, partition_start, partition_end, checked_at,
                  CAST(observed_value AS VARCHAR) AS observed_value
           FROM quality.check_results
           QUALIFY checked_at = max(checked_at) OVER (PARTITION BY suite)
           ORDER BY success, severity, suite, check_name, expectation""",
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def source_freshness(db: Serving) -> pd.DataFrame:
    """Rows and newest landing day per raw table, and how far each lags the data-as-of day."""
    return _frame(
        db,
        """SELECT r.table_name, r.loaded, r.quarantined, r.late, r.first_day, r.last_day,
                  date_diff('day', r.last_day, i.data_as_of) AS days_behind
           FROM main.raw_summary AS r CROSS JOIN main.serving_info AS i
           ORDER BY r.table_name""",
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def quarantine_counts(db: Serving) -> pd.DataFrame:
    """Quarantined rows per table, fault kind and reason field, most first."""
    names = sorted(t.split(".", 1)[1] for t in tables(db) if t.startswith("quarantine."))
    if not names:
        return pd.DataFrame(columns=["table_name", "fault_kind", "field", "quarantined"])
    union = " UNION ALL ".join(
        f"SELECT '{name}' AS table_name, fault_kind, field FROM quarantine.\"{name}\""
        for name in names
    )
    return _frame(
        db,
        f"""SELECT table_name, fault_kind, coalesce(field, '-') AS field, count(*) AS quarantined
            FROM ({union}) GROUP BY ALL ORDER BY quarantined DESC, table_name, fault_kind""",
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def review_decisions(db: Serving) -> pd.DataFrame:
    """Every recorded review decision (`marts.fct_review_decisions`), newest first."""
    return _frame(db, "SELECT * FROM marts.fct_review_decisions ORDER BY decided_at DESC")


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def outreach_outcomes(db: Serving) -> pd.DataFrame:
    """Listed accounts per outreach period with arm and churn (`marts.fct_outreach_outcomes`)."""
    return _frame(db, "SELECT * FROM marts.fct_outreach_outcomes")


def lookup(db: Serving, function, *args):
    """A lookup of ml/feedback.py (a ticket's score, an account's listing day) in the file."""
    with duckdb.connect(db.path, read_only=True) as con:
        return function(con, *args)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def alert_days(db: Serving) -> list[dt.date]:
    """The as-of days with alerts, newest first."""
    frame = _frame(
        db, "SELECT DISTINCT as_of_date FROM marts.fct_account_alerts ORDER BY 1 DESC LIMIT 120"
    )
    return [pd.Timestamp(d).date() for d in frame["as_of_date"]]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def alerts(
    db: Serving, day: dt.date, types: tuple[str, ...], owners: tuple[str, ...]
) -> pd.DataFrame:
    """One day's alerts with the account's name and owner (current CRM version), filtered."""
    return _frame(
        db,
        """WITH f AS (SELECT ?::DATE AS day, ?::VARCHAR[] AS types, ?::VARCHAR[] AS owners)
           SELECT a.alert_type, a.is_new, a.account_id, d.account_name,
                  d.account_owner AS owner, a.segment, a.tier, a.seats, a.arr, a.reason,
                  a.observed, a.baseline, a.ratio, a.as_of_date
           FROM marts.fct_account_alerts AS a CROSS JOIN f
           LEFT JOIN marts.dim_accounts AS d ON d.account_id = a.account_id AND d.is_current
           WHERE a.as_of_date = f.day
             AND (len(f.types) = 0 OR list_contains(f.types, a.alert_type))
             AND (len(f.owners) = 0 OR list_contains(f.owners, d.account_owner))
           ORDER BY a.is_new DESC, a.arr DESC, a.account_id""",
        [day, list(types), list(owners)],
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def alert_counts(db: Serving, owners: tuple[str, ...]) -> pd.DataFrame:
    """Alerts firing and starting per day and type, for the trend."""
    return _frame(
        db,
        """SELECT a.as_of_date AS day, a.alert_type, count(*) AS firing,
                  count(*) FILTER (WHERE a.is_new) AS started
           FROM marts.fct_account_alerts AS a
           LEFT JOIN marts.dim_accounts AS d ON d.account_id = a.account_id AND d.is_current
           WHERE len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], d.account_owner)
           GROUP BY ALL ORDER BY 1, 2""",
        [list(owners), list(owners)],
    )


TRIAGE_TABLES = ("triage_policy", "triage_actions", "triage_senior_load", "triage_sla",
                 "triage_curve")  # fmt: skip


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def triage(db: Serving) -> dict[str, pd.DataFrame]:
    """The published policy backtest (`ml.triage_*`, written by the triage_policy asset)."""
    return {name: _frame(db, f"SELECT * FROM ml.{name}") for name in TRIAGE_TABLES}
