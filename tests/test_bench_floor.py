"""The benchmark's floor computes the same KPI mart as the pipeline.

`bench/floor.sql` is only a fair floor if it builds exactly `marts.fct_support_kpis_daily`:
checked on the session's tiny clean pipeline, and on a month of the small scale that
crosses the cost model's 2026-08-01 price change (more tickets, more SLA, business-hours
and re-contact cases than the tiny set has).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bench.floor import compare_with_mart, run_floor
from extracts.generator import SCALES, generate
from tests.conftest import landed_days, run_pipeline

PRICE_CHANGE = dt.date(2026, 8, 1)  # dbt_project/seeds/cost_model.csv
SMALL_MONTH = replace(SCALES["small"], fault_rate=0.0, days=30, start=dt.date(2026, 7, 20))


def published_mart(serving: Path) -> pd.DataFrame:
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute("SELECT * FROM marts.fct_support_kpis_daily").df()


def test_floor_matches_the_mart_of_the_tiny_pipeline(tiny_pipeline):
    floor = run_floor(tiny_pipeline.landing, threads=2, memory_limit="1GB")
    assert compare_with_mart(floor.frame, published_mart(tiny_pipeline.serving)) == []
    assert len(floor.frame) > 0
    assert floor.frame["kpi_date"].nunique() > 1
    assert floor.seconds > 0


@pytest.mark.e2e
def test_floor_matches_the_mart_across_a_price_change(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("small_month")
    generate(SMALL_MONTH, root)
    days = landed_days(root / "landing")
    result = run_pipeline(
        root / "landing", root / "warehouse.duckdb", root / "serving.duckdb", days[0], days[-1]
    )
    assert result.success

    floor = run_floor(root / "landing")
    assert compare_with_mart(floor.frame, published_mart(root / "serving.duckdb")) == []
    kpi_days = pd.to_datetime(floor.frame["kpi_date"]).dt.date
    assert kpi_days.min() < PRICE_CHANGE <= kpi_days.max()


def test_compare_with_mart_names_every_kind_of_difference():
    """The comparison itself: an empty list must mean equal, not 'nothing was compared'."""
    mart = pd.DataFrame(
        {
            "kpi_date": pd.to_datetime(["2026-05-01", "2026-05-01", "2026-05-02"]),
            "channel": ["bot", "email", "bot"],
            "category": ["billing"] * 3,
            "tier": ["vip"] * 3,
            "segment": ["smb"] * 3,
            "handling_path": ["automated"] * 3,
            "tickets": [1, 2, 3],
            "agent_cost_usd": [0.5, 1.25, None],
            "backlog_tickets": [0, 1, 1],
        }
    )
    assert compare_with_mart(mart.copy(), mart) == []

    # Float sums within the mart's rounding agree; null matches only null.
    nudged = mart.assign(agent_cost_usd=[0.5 + 4e-7, 1.25, None])
    assert compare_with_mart(nudged, mart) == []

    floor = mart.drop(columns="backlog_tickets").drop(index=2)
    floor.loc[0, "tickets"] = 5
    floor.loc[1, "agent_cost_usd"] = 1.2501
    problems = compare_with_mart(floor, mart)
    assert len(problems) == 4, problems
    assert "backlog_tickets" in problems[0] and "missing" in problems[0]
    assert "only in the mart" in problems[1]
    assert problems[2].startswith("tickets: 1 rows differ")
    assert problems[3].startswith("agent_cost_usd: 1 rows differ")
