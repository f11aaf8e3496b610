"""Latency of the queries each dashboard page runs, on the published serving file.

Every query is called through the page's own function in `dashboards.queries`, bypassing
Streamlit's cache (`__wrapped__`), so each call pays what a first visit after a publish
pays: the SQL and the frame, on the copy's shared read-only handle (opening it is measured
apart: once per published copy); then through the cache, as every later visit. Ticket pages run twice: with the default filter (the
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


def _page_queries(db: queries.Serving, cached: bool = False) -> dict[str, Callable[[], object]]:
    """`page: query (range)` -> a call, as the pages in dashboards/pages/ make them: through
    Streamlit's data cache when `cached`, else past it (`__wrapped__`)."""

    def pick(query: Callable) -> Callable:
        return query if cached else query.__wrapped__

    options = pick(queries.filter_options)(db)
    first, last = options["first_day"], options["last_day"]
    ranges = {
        "4 weeks": queries.Filters(max(first, last - dt.timedelta(days=DEFAULT_DAYS - 1)), last),
        "all days": queries.Filters(first, last),
    }
    calls: dict[str, Callable[[], object]] = {
        "shared: serving_info": lambda: pick(queries.serving_info)(db),
        "shared: filter_options": lambda: pick(queries.filter_options)(db),
        "shared: tables": lambda: pick(queries.tables)(db),
    }
    for label, f in ranges.items():
        calls |= {
            f"executive: kpis ({label})": lambda f=f: pick(queries.kpis)(db, f),
            f"executive: kpis previous period ({label})": lambda f=f: pick(queries.kpis)(
                db, f.shifted_back()
            ),
            f"executive: kpis by week ({label})": lambda f=f: pick(queries.kpis)(db, f, by="week"),
            f"executive: kpis by channel ({label})": lambda f=f: pick(queries.kpis)(
                db, f, by="channel"
            ),
            f"operations: daily_queue ({label})": lambda f=f: pick(queries.daily_queue)(db, f),
            f"operations: kpis by tier ({label})": lambda f=f: pick(queries.kpis)(db, f, by="tier"),
            f"operations: ticket_times ({label})": lambda f=f: pick(queries.ticket_times)(db, f),
        }
    published = pick(queries.tables)(db)
    if "ml.ticket_scores" in published:  # as on the pages: the ml schema comes with models
        for label, f in ranges.items():
            calls[f"operations: open_tickets_by_risk ({label})"] = lambda f=f: pick(
                queries.open_tickets_by_risk
            )(db, f)
    if "ml.outreach_list" in published:
        calls |= {
            "outreach: outreach_options": lambda: pick(queries.outreach_options)(db),
            "outreach: outreach": lambda: pick(queries.outreach)(db, (), (), 0.0),
            "models: model_versions": lambda: pick(queries.model_versions)(db),
            "models: champion_evaluations": lambda: pick(queries.champion_evaluations)(db),
            "models: champion_calibration": lambda: pick(queries.champion_calibration)(db),
            "models: latest_drift": lambda: pick(queries.latest_drift)(db),
        }
    if "ml.triage_curve" in published:
        calls["triage: triage"] = lambda: pick(queries.triage)(db)
    calls |= {
        "quality: latest_checks": lambda: pick(queries.latest_checks)(db),
        "quality: source_freshness": lambda: pick(queries.source_freshness)(db),
        "quality: quarantine_counts": lambda: pick(queries.quarantine_counts)(db),
    }
    return calls


def _percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile: an observed value, no interpolation."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def _samples(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Milliseconds per call, each call warmed once first (the OS page cache, as any earlier
    visitor would have left it)."""
    timed = {}
    for name, call in calls.items():
        call()
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
        timed[name] = samples
    return timed


def measure(serving: Path, repeats: int = 20) -> dict:
    """p50 and p95 in milliseconds per page query and over all of them, past Streamlit's
    data cache (a first visit after a publish) and through it (every later visit); and the
    cost of opening a newly published copy, which a dashboard process pays once per copy."""
    db = queries.serving_file(serving)
    if db is None:
        raise FileNotFoundError(f"no serving database at {serving}")
    opening = []
    for _ in range(5):
        queries.serving_handle.clear()
        started = time.perf_counter()
        queries.serving_handle(db)
        opening.append((time.perf_counter() - started) * 1000)
    timed = _samples(_page_queries(db), repeats)
    every = [ms for samples in timed.values() for ms in samples]
    cached = [ms for s in _samples(_page_queries(db, cached=True), repeats).values() for ms in s]
    per_query = [
        {"query": name, "p50_ms": round(statistics.median(samples), 2),
         "p95_ms": round(_percentile(samples, 0.95), 2)}
        for name, samples in timed.items()
    ]  # fmt: skip
    return {
        "repeats": repeats,
        "p50_ms": round(statistics.median(every), 2),
        "p95_ms": round(_percentile(every, 0.95), 2),
        "cached_p50_ms": round(statistics.median(cached), 3),
        "cached_p95_ms": round(_percentile(cached, 0.95), 3),
        "open_copy_ms": round(statistics.median(opening), 2),
        "slowest": max(per_query, key=lambda q: q["p95_ms"])["query"],
        "queries": per_query,
    }
