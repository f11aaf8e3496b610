"""The whole asset graph on a tiny clean dataset: ingestion, dbt build, serving publish."""

from __future__ import annotations

import duckdb


def test_every_asset_materialises_and_serving_is_published(tiny_pipeline):
    assert tiny_pipeline.result.success
    with duckdb.connect(str(tiny_pipeline.serving), read_only=True) as con:
        tickets = con.execute("SELECT count(*) FROM marts.fct_tickets").fetchone()[0]
        kpi_tickets = con.execute(
            "SELECT sum(tickets) FROM marts.fct_support_kpis_daily"
        ).fetchone()[0]
        info = con.execute("SELECT data_as_of FROM serving_info").fetchone()[0]
    assert tickets == tiny_pipeline.generated.rows["helpdesk_tickets"]
    assert kpi_tickets == tickets
    assert info.isoformat() == max(p.name for p in (tiny_pipeline.landing / "helpdesk").iterdir())
