"""The daily partitions every warehouse asset shares, and their window as landing days."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from config.settings import get_settings

# Part of the code location's definitions, so fixed when Dagster loads them (once a process).
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=get_settings().partitions_start.isoformat(), end_offset=1
)


def window_days(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of the run's partition window, one day or a backfill range."""
    window = context.partition_time_window
    return window.start.date(), (window.end - dt.timedelta(days=1)).date()
