"""Latency of the queries each dashboard page runs, on the published serving file.

Every query is called through the page's own function in `dashboards.queries`, bypassing
Streamlit's cache (`__wrapped__`), so each call pays what a first visit pays: a read-only
connection, the SQL and the frame. Ticket pages run twice: with the default filter (the
last four weeks) and with the whole history, the slowest range a user can pick.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from dashboards import queries
from dashboards.ui import DEFAULT_DAYS


def _page_queries(db: queries.Serving) -> dict[str, Callable[[], object]]:
    """`page: query (range)` -> a call, as the pages in dashboards/pages/ make them."""
    options = queries.filter_options.__wrapped__(db)
    first, last = options["first_day"], options["last_day"]
    ranges = {
        "4 weeks": queries.Filters(max(first, last - dt.timedelta(days=DEFAULT_DAYS - 1)), last),
        "all days": queries.Filters(first, last),
    }
    calls: dict[str, Callable[[], object]] = {
        "shared: serving_info": lambda: queries.serving_info.__wrapped__(db),
        "shared: filter_options": lambda: queries.filter_options.__wrapped__(db),
        "shared: tables": lambda: queries.tables.__wrapped__(db),
    }
    for label, f in ranges.items():
        calls |= {
            f"executive: kpis ({label})": lambda f=f: queries.kpis.__wrapped__(db, f),
            f"executive: kpis previous period ({label})": lambda f=f: queries.kpis.__wrapped__(
                db, f.shifted_back()
            ),
            f"executive: kpis by week ({label})": lambda f=f: queries.kpis.__wrapped__(
                db, f, by="week"
            ),
            f"executive: kpis by channel ({label})": lambda f=f: queries.kpis.__wrapped__(
                db, f, by="channel"
            ),
            f"operations: daily_queue ({label})": lambda f=f: queries.daily_queue.__wrapped__(
                db, f
            ),
            f"operations: kpis by tier ({label})": lambda f=f: queries.kpis.__wrapped__(
                db, f, by="tier"
            ),
            f"operations: ticket_times ({label})": lambda f=f: queries.ticket_times.__wrapped__(
                db, f
            ),
        }
    published = queries.tables.__wrapped__(db)
    if "ml.ticket_scores" in published:  # as on the pages: the ml schema comes with models
        for label, f in ranges.items():
            calls[f"operations: open_tickets_by_risk ({label})"] = lambda f=f: (
                queries.open_tickets_by_risk.__wrapped__(db, f)
            )
    if "ml.outreach_list" in published:
        calls |= {
            "outreach: outreach_options": lambda: queries.outreach_options.__wrapped__(db),
            "outreach: outreach": lambda: queries.outreach.__wrapped__(db, (), (), 0.0),
            "models: model_versions": lambda: queries.model_versions.__wrapped__(db),
            "models: champion_evaluations": lambda: queries.champion_evaluations.__wrapped__(db),
            "models: champion_calibration": lambda: queries.champion_calibration.__wrapped__(db),
            "models: latest_drift": lambda: queries.latest_drift.__wrapped__(db),
        }
    if "ml.triage_curve" in published:
        calls["triage: triage"] = lambda: queries.triage.__wrapped__(db)
    calls |= {
        "quality: latest_checks": lambda: queries.latest_checks.__wrapped__(db),
        "quality: source_freshness": lambda: queries.source_freshness.__wrapped__(db),
        "quality: quarantine_counts": lambda: queries.quarantine_counts.__wrapped__(db),
    }
    return calls


def _percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile: an observed value, no interpolation."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def measure(serving: Path, repeats: int = 20) -> dict:
    """p50 and p95 in milliseconds per page query and over all of them."""
    db = queries.serving_file(serving)
    if db is None:
        raise FileNotFoundError(f"no serving database at {serving}")
    per_query, every = [], []
    for name, call in _page_queries(db).items():
        call()  # warm the OS page cache, as any earlier visitor would have
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
        every += samples
        per_query.append(
            {
                "query": name,
                "p50_ms": round(statistics.median(samples), 2),
                "p95_ms": round(_percentile(samples, 0.95), 2),
            }
        )
    return {
        "repeats": repeats,
        "p50_ms": round(statistics.median(every), 2),
        "p95_ms": round(_percentile(every, 0.95), 2),
        "slowest": max(per_query, key=lambda q: q["p95_ms"])["query"],
        "queries": per_query,
    }
