"""`make bench-dashboard` times what the page asks for: each chart request of dashboard.js's drawCharts, with the
same query keys (the equity of one market's sub-accounts, not every one of them)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.performance.bench_dashboard import PAGE_REQUESTS

PAGE_JS = Path(__file__).resolve().parents[3] / "infra/dashboard/static/dashboard.js"


def page_chart_requests() -> dict[str, set[str]]:
    """Per API path the page's drawCharts asks, the query keys it sends."""
    script = PAGE_JS.read_text()
    body = script[script.index("async function drawCharts") :]
    body = body[: body.index("\n}\n")]
    asked: dict[str, set[str]] = {}
    equity = re.search(r'api\("(/api/equity)\?([^)]*)\)', body)
    assert equity is not None, "drawCharts no longer asks /api/equity: update this test and the bench"
    asked[equity[1]] = set(re.findall(r'[?&"](\w+)=', "?" + equity[2]))
    symbol_query = re.search(r'const query = ("[^;]*);', body, re.DOTALL)
    assert symbol_query is not None and 'api("/api/symbol?" + query)' in body
    asked["/api/symbol"] = set(re.findall(r'[&"](\w+)=', symbol_query[1]))
    return asked


def test_the_bench_asks_each_chart_request_with_the_page_s_query_keys() -> None:
    bench = {urlsplit(request).path: set(parse_qs(urlsplit(request).query)) for request in PAGE_REQUESTS}
    for path, keys in page_chart_requests().items():
        assert path in bench, path
        assert keys - {"from", "to"} <= bench[path], (path, keys, bench[path])  # a zoom range only after a drag
    assert page_chart_requests()["/api/equity"] == {"points", "market"}
