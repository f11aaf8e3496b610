"""Data docs: Great Expectations' validation pages plus an index of every outcome.

GE's ephemeral context keeps no validation-results store on disk, so the pages are not
built through `context.build_data_docs()`: `write_validation_pages` renders each GE
validation result with GE's own renderer (`ValidationResultsPageRenderer` +
`DefaultJinjaPageView`), fully offline, and `write_index` lists the latest outcome of every
check from `quality.check_results` (the SQL checks included, which GE has no page for),
linking the suites' pages. The GE pages link GE's CSS/JS from a CDN: offline they show
unstyled but complete.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import duckdb

from extracts.files import write_text
from quality.results import SuiteResult, latest_results


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


def write_validation_pages(result: SuiteResult, out_dir: str | Path) -> list[Path]:
    """Render the suite's GE validation results (one page per batch), replacing its old pages."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    pages_dir = Path(out_dir) / "validations"
    pages_dir.mkdir(parents=True, exist_ok=True)
    for old in pages_dir.glob(f"{_slug(result.suite)}-*.html"):
        old.unlink()
    renderer, view = ValidationResultsPageRenderer(), DefaultJinjaPageView()
    pages = []
    for i, gx_result in enumerate(result.gx_results):
        page = pages_dir / f"{_slug(result.suite)}-{i + 1}.html"
        page.write_text(view.render(renderer.render(gx_result)), encoding="utf-8")
        pages.append(page)
    return pages


def write_index(
    con: duckdb.DuckDBPyConnection, out_dir: str | Path, title: str = "supportops data quality"
) -> Path:
    """`index.html`: the latest outcome of every check per suite, linking the GE pages on disk."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = latest_results(con)
    links = {
        suite: sorted(
            f"validations/{p.name}" for p in (out / "validations").glob(f"{_slug(suite)}-*.html")
        )
        for suite in {r["suite"] for r in rows}
    }
    index = out / "index.html"
    return write_text(index, _index(rows, {s: p for s, p in links.items() if p}, title))
