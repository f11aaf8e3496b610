"""Data docs: Great Expectations' validation pages plus an index of every outcome.

GE's ephemeral context keeps no validation-results store on disk, so `build_data_docs`
does not go through `context.build_data_docs()`; it renders each GE validation result
with GE's own renderer (`ValidationResultsPageRenderer` + `DefaultJinjaPageView`), fully
offline, and writes an `index.html` listing every outcome (the SQL checks included, which
GE has no page for). The GE pages link GE's CSS/JS from a CDN: offline they show unstyled
but complete. `build_report_from_table` writes the index alone from
`quality.check_results` (for a process that holds no GE results).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from pathlib import Path

import duckdb

from quality.checks import Outcome, SuiteResult
from quality.results import latest_results


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _index(rows: list[dict], links: dict[str, list[str]], title: str) -> str:
    def cell(v: object) -> str:
        return html.escape("" if v is None else str(v))

    body = []
    for r in rows:
        status = "pass" if r["success"] else ("FAIL" if r["severity"] == "critical" else "warn")
        observed = r["observed_value"]
        if not isinstance(observed, str):
            observed = json.dumps(observed, default=str)
        body.append(
            f"<tr class='{status}'><td>{cell(r['suite'])}</td><td>{cell(r['expectation'])}</td>"
            f"<td>{cell(r['severity'])}</td><td>{status}</td><td>{cell(r['unexpected_count'])}</td>"
            f"<td><code>{cell(observed[:300])}</code></td></tr>"
        )
    pages = "".join(
        f"<li>{html.escape(suite)}: "
        + ", ".join(f"<a href='{html.escape(p)}'>batch {i + 1}</a>" for i, p in enumerate(ps))
        + "</li>"
        for suite, ps in sorted(links.items())
    )
    failed = sum(1 for r in rows if not r["success"])
    return f"""<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:left}}
tr.FAIL{{background:#fdd}}tr.warn{{background:#ffd}}code{{font-size:12px}}</style></head>
<body><h1>{html.escape(title)}</h1><p>{len(rows)} checks, {failed} failed.</p>
{"<h2>Great Expectations pages</h2><ul>" + pages + "</ul>" if pages else ""}
<h2>All checks</h2><table><tr><th>suite</th><th>check</th><th>severity</th><th>result</th>
<th>unexpected</th><th>observed</th></tr>{"".join(body)}</table></body></html>"""


def _rows(outcomes: Iterable[Outcome]) -> list[dict]:
    rows = [o.__dict__ | {"observed_value": o.observed_value} for o in outcomes]
    return sorted(rows, key=lambda r: (r["suite"], r["success"], r["severity"], r["expectation"]))


def build_data_docs(
    results: Iterable[SuiteResult], out_dir: str | Path, title: str = "supportops data quality"
) -> Path:
    """Write GE validation pages and `index.html` into `out_dir`; returns the index path."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    out = Path(out_dir)
    (out / "validations").mkdir(parents=True, exist_ok=True)
    renderer, view = ValidationResultsPageRenderer(), DefaultJinjaPageView()
    results = list(results)
    links: dict[str, list[str]] = {}
    for r in results:
        for i, gx_result in enumerate(r.gx_results):
            name = f"validations/{_slug(r.suite)}-{i + 1}.html"
            (out / name).write_text(view.render(renderer.render(gx_result)), encoding="utf-8")
            links.setdefault(r.suite, []).append(name)
    index = out / "index.html"
    index.write_text(
        _index(_rows(o for r in results for o in r.outcomes), links, title), encoding="utf-8"
    )
    return index


def build_report_from_table(
    con: duckdb.DuckDBPyConnection, out_dir: str | Path, title: str = "supportops data quality"
) -> Path:
    """`index.html` of the latest results per suite in `quality.check_results` (no GE)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    index.write_text(_index(latest_results(con), {}, title), encoding="utf-8")
    return index
