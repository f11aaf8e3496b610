"""The realism report: a generated world's distributions beside published reference bands.

Computed with DuckDB over the landing files and truth/ a run wrote, so `supportops generate
--report` shows what the demo is calibrated to, and docs/realism.md is built from it. Every
band names its source; the sources are listed in docs/realism.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class Figure:
    """One measured figure and the band a real support floor shows."""

    name: str
    value: float | None
    unit: str
    low: float | None
    high: float | None
    source: str

    def format(self, value: float | None) -> str:
        """`value` in this figure's unit: shares as percentages, counts whole."""
        if value is None:
            return "-"
        if self.unit in ("share", "pp"):
            return f"{value:.1%}" if self.unit == "share" else f"{value * 100:.1f} pp"
        if self.unit == "count":
            return f"{value:,.0f}"
        return f"{value:,.2f}"

    @property
    def within(self) -> bool | None:
        """Whether the value lies in the band (None when there is no band or no value)."""
        if self.value is None or (self.low is None and self.high is None):
            return None
        return (self.low is None or self.value >= self.low) and (
            self.high is None or self.value <= self.high
        )


# Sources, short (full references and links in docs/realism.md).
ZENDESK_CHAT = "Zendesk Benchmark (chat hours)"
METRICHQ = "Endsight 2022 via Klipfolio MetricHQ"
LIVEAGENT = "LiveAgent ticketing benchmarks"
SURVEYS = "Satmetrix; survey benchmarks"
UCI_LOG = "UCI incident event log"
HELPDESK_STATS = "help desk statistics compilations"
HOLIDAYS = "public holiday calendars"
ISSUE = "issue 20"
PLANTED = "by design"
PHYSICS = "elapsed time"

# Groups smaller than this (a value an injected fault made up) are left out of spreads.
_MIN_GROUP = 100
_BUSINESS_HOURS = "isodow(created_at) <= 5 and hour(created_at) between 8 and 17"


def _views(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    """Tickets and events as landed: an injected duplicate counts once, and rows a fault
    made unreadable (no id or time) are left out."""
    landing, truth = out / "landing", out / "truth"
    con.execute(
        f"""
        create view tickets as
        select distinct on (ticket_id) * from read_json('{landing}/helpdesk/*/tickets.jsonl',
            format='newline_delimited', columns={{'ticket_id': 'BIGINT',
            'created_at': 'TIMESTAMP', 'channel': 'VARCHAR', 'category': 'VARCHAR',
            'tier': 'VARCHAR', 'account_id': 'VARCHAR'}}, ignore_errors=true)
        where ticket_id is not null and created_at is not null;
        create view events as
        select distinct on (event_id) * from read_json('{landing}/helpdesk/*/ticket_events.jsonl',
            format='newline_delimited', columns={{'event_id': 'BIGINT', 'ticket_id': 'BIGINT',
            'event_type': 'VARCHAR', 'created_at': 'TIMESTAMP', 'handle_seconds': 'INTEGER',
            'csat_score': 'INTEGER'}}, ignore_errors=true)
        where event_id is not null and ticket_id is not null and created_at is not null;
        create view world as select * from read_parquet('{truth}/world_events.parquet');
        create view account_daily as select * from read_parquet('{truth}/account_daily.parquet');
        """
    )
    con.execute(
        """
        create table per_ticket as
        select t.ticket_id, t.created_at, t.channel, t.category, t.tier, t.account_id,
               max(e.created_at) filter (where e.event_type = 'solved') as solved_at,
               coalesce(sum(e.handle_seconds), 0) as handle_seconds,
               count(*) filter (where e.event_type = 'agent_assigned') as assignments,
               count(*) filter (where e.event_type = 'reopened') > 0 as reopened,
               count(*) filter (where e.event_type = 'csat_response') > 0 as responded
        from tickets t join events e using (ticket_id)
        group by all
        """
    )


def measure(out: Path | str) -> list[Figure]:
    """Every figure of the report for the world generated into `out`."""
    con = duckdb.connect()
    try:
        _views(con, Path(out))
        return [
            *_time_figures(con),
            *_structure_figures(con),
            *_profile_figures(con),
            *_volume_figures(con),
            *_burst_figures(con),
        ]
    finally:
        con.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return con.execute(sql).fetchone()


def _time_figures(con: duckdb.DuckDBPyConnection) -> list[Figure]:
    over_life = dict(
        con.execute(
            """
            select channel, avg(case when handle_seconds > epoch(solved_at - created_at)
                                     then 1 else 0 end)
            from per_ticket where solved_at is not null and handle_seconds > 0 group by 1
            """
        ).fetchall()
    )
    (over_gap,) = _one(
        con,
        """
        with ordered as (
            select handle_seconds, created_at - lag(created_at) over (
                partition by ticket_id order by created_at, event_id) as gap
            from events
        )
        select avg(case when handle_seconds > epoch(gap) then 1 else 0 end)
        from ordered where handle_seconds is not null
        """,
    )
    median, p99, longest, within_day = _one(
        con,
        """
        select median(h), quantile_cont(h, 0.99), max(h) / 24,
               avg(case when h <= 24 then 1 else 0 end)
        from (select epoch(solved_at - created_at) / 3600 as h
              from per_ticket where solved_at is not null)
        """,
    )
    figures = [
        Figure(
            f"{channel} tickets with more handle time than creation-to-solve",
            over_life.get(channel, 0.0),
            "share",
            0.0,
            0.0,
            PHYSICS,
        )
        for channel in ("email", "chat", "phone", "web")
    ]
    return [
        *figures,
        Figure(
            "agent replies with more handle time than since the previous event",
            over_gap,
            "share",
            0.0,
            0.0,
            PHYSICS,
        ),
        Figure("resolution time, median", median, "hours", 0.5, 60.0, UCI_LOG),
        Figure("resolution time, p99", p99, "hours", 200.0, None, UCI_LOG),
        Figure("longest resolution", longest, "days", 20.0, None, UCI_LOG),
        Figure("resolved within 24 h", within_day, "share", 0.5, 0.8, HELPDESK_STATS),
    ]


def _structure_figures(con: duckdb.DuckDBPyConnection) -> list[Figure]:
    mean, longest = _one(
        con,
        "select avg(assignments - 1), max(assignments - 1) from per_ticket where assignments > 0",
    )
    (reopen,) = _one(con, "select avg(reopened::int) from per_ticket where solved_at is not null")
    by = {
        column: _one(
            con,
            f"""select max(rate) - min(rate) from (
                    select avg(reopened::int) as rate from per_ticket
                    where solved_at is not null group by {column}
                    having count(*) >= {_MIN_GROUP})""",
        )[0]
        for column in ("channel", "category")
    }
    csat = dict(
        con.execute(
            """
            select channel, avg(responded::int) from per_ticket
            where solved_at is not null group by 1
            """
        ).fetchall()
    )
    return [
        Figure("reassignments per agent-handled ticket, mean", mean, "ratio", 0.5, 2.0, LIVEAGENT),
        Figure("reassignments, most on one ticket", longest, "count", 10, None, UCI_LOG),
        Figure("reopen rate of solved tickets", reopen, "share", 0.01, 0.05, METRICHQ),
        Figure("reopen rate spread across channels", by["channel"], "pp", 0.01, None, ISSUE),
        Figure("reopen rate spread across categories", by["category"], "pp", 0.015, None, ISSUE),
        *(
            Figure(
                f"CSAT response rate, {channel}", csat.get(channel), "share", 0.05, 0.45, SURVEYS
            )
            for channel in ("email", "chat", "phone", "web", "bot")
        ),
    ]


def _profile_figures(con: duckdb.DuckDBPyConnection) -> list[Figure]:
    shares = {
        (channel, tier): share
        for channel, tier, share in con.execute(
            f"""
            select channel, tier, avg(case when {_BUSINESS_HOURS} then 1 else 0 end)
            from tickets group by all
            """
        ).fetchall()
    }
    bands = {"phone": (0.8, 1.0), "chat": (0.8, 1.0), "email": (0.35, 0.7), "web": (0.35, 0.7)}
    return [
        Figure(
            f"{channel} tickets ({tier}) created in business hours",
            shares.get((channel, tier)),
            "share",
            *(bands[channel] if tier == "standard" else (None, None)),
            PLANTED if tier == "vip" else ZENDESK_CHAT if channel in ("phone", "chat") else ISSUE,
        )
        for channel in ("phone", "chat", "email", "web")
        for tier in ("standard", "vip")
    ]


def _volume_figures(con: duckdb.DuckDBPyConnection) -> list[Figure]:
    (cv,) = _one(
        con,
        """
        with daily as (
            select cast(created_at as date) as d, count(*) as n from tickets group by 1
        )
        select stddev_samp(n) / avg(n) from daily
        where isodow(d) <= 5 and d not in (select cast(start_at as date) from world
                                           where kind = 'holiday')
        """,
    )
    (incident_ratio,) = _one(
        con,
        """
        with daily as (
            select cast(created_at as date) as d, category, count(*) as n
            from tickets where isodow(created_at) <= 5 group by all
        ), typical as (select category, median(n) as m from daily group by 1)
        select avg(n / m) from world w
        join daily on daily.d = cast(w.start_at as date) and daily.category = w.category
        join typical on typical.category = daily.category
        where w.kind = 'incident'
        """,
    )
    (holiday_ratio,) = _one(
        con,
        """
        with daily as (
            select cast(created_at as date) as d, count(*) as n from tickets
            where isodow(created_at) <= 5 group by 1
        )
        select avg(n) filter (where d in (select cast(start_at as date) from world
                                          where kind = 'holiday'))
               / median(n) from daily
        """,
    )
    counts = dict(con.execute("select kind, count(*) from world group by 1").fetchall())
    return [
        Figure("weekday daily volume, coefficient of variation", cv, "ratio", 0.1, None, PLANTED),
        Figure(
            "incident day volume of its category vs a typical weekday, mean",
            incident_ratio,
            "ratio",
            2.0,
            5.0,
            ISSUE,
        ),
        Figure(
            "weekday holiday volume vs a typical weekday",
            holiday_ratio,
            "ratio",
            0.5,
            0.85,
            PLANTED,
        ),
        Figure("incidents", counts.get("incident", 0), "count", None, None, PLANTED),
        Figure("release weeks", counts.get("release_week", 0), "count", None, None, PLANTED),
        Figure("holidays", counts.get("holiday", 0), "count", None, None, HOLIDAYS),
        Figure("account bursts", counts.get("account_burst", 0), "count", None, None, PLANTED),
    ]


def _burst_figures(con: duckdb.DuckDBPyConnection) -> list[Figure]:
    """Relative risk of churn within 90 days for account-days flagged by the seed's absolute
    rule (4+ tickets in 14 days) and by a burst against the account's own baseline."""
    absolute, relative = _one(
        con,
        """
        with days as (
            select account_id, date as d, churned_within_90d as churned from account_daily
            where churned_within_90d is not null
        ), counts as (
            select account_id, cast(created_at as date) as d, count(*) as n
            from tickets group by all
        ), windows as (
            select days.account_id, days.d, days.churned,
                   sum(coalesce(counts.n, 0)) over w14 as last_14,
                   sum(coalesce(counts.n, 0)) over w90 as last_90,
                   count(*) over w90 as history
            from days left join counts using (account_id, d)
            window w14 as (partition by days.account_id order by days.d
                           rows between 13 preceding and current row),
                   w90 as (partition by days.account_id order by days.d
                           rows between 89 preceding and current row)
        ), flagged as (
            select churned, last_14 >= 4 as absolute,
                   last_14 >= 3 and last_14 >= 2.5 * last_90 * 14 / 90 as relative
            from windows where history = 90
        )
        select avg(churned::int) filter (where absolute) / avg(churned::int) filter (where not absolute),
               avg(churned::int) filter (where relative) / avg(churned::int) filter (where not relative)
        from flagged
        """,
    )
    return [
        Figure(
            "churn relative risk, 4+ tickets in 14 days", absolute, "ratio", None, None, PLANTED
        ),
        Figure(
            "churn relative risk, 14-day tickets >= 2.5x the account's own 90-day rate",
            relative,
            "ratio",
            1.5,
            None,
            PLANTED,
        ),
    ]
