"""The dashboard in a real headless browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.web.browser import CHROMIUM, FLAGS, serve_demo


@pytest.fixture
def demo_url(tmp_path: Path) -> Iterator[str]:
    with serve_demo(tmp_path, latency=0.001) as url:
        yield url


HIT_RATES = "dash.charts.hit_rate ? dash.charts.hit_rate.data : [[], []]"


def _hit_rates(page: Page) -> list[tuple[float, float | None]]:
    """The points the hit-rate chart draws: (unix seconds, percent or None for a gap)."""
    xs, ys = page.evaluate(HIT_RATES)
    return list(zip(xs, ys, strict=True))


def test_the_hit_rate_chart_dips_after_an_invalidation_under_traffic(
    demo_url: str, tmp_path: Path
) -> None:
    assert Path(CHROMIUM).exists(), (
        "chromium is missing: scripts/test installs it (apt-get install chromium)"
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{demo_url}/dashboard/")
            page.click("#traffic")  # start the built-in traffic generator
            page.wait_for_function(
                "document.getElementById('traffic').textContent === 'Stop traffic'", timeout=10_000
            )
            # Warm: every page has been read once, the windowed hit rate the chart
            # draws reaches 98 % (30 posts missing again then make a dip of 5 % or more).
            page.wait_for_function(
                f"(() => {{ const [x, y] = {HIT_RATES}; return y.length > 2 && y.at(-1) >= 98 }})"
                "()",
                timeout=60_000,
            )
            window = page.locator(".window").first.inner_text()
            assert window == "10"  # N, shown on the page
            legends = page.locator(".u-legend").all_inner_texts()
            assert any("hit p50" in t and "hit p95" in t and "hit p99" in t for t in legends)
            assert any("miss p99" in t for t in legends)
            axes = page.evaluate(
                "Object.fromEntries(Object.entries(dash.charts).map(([k, u]) =>"
                " [k, u.axes.map(a => [a.label, (a._values || []).length])]))"
            )
            assert axes["hit_rate"][1][0] == "%" and axes["requests_per_second"][1][0] == "req/s"
            assert axes["hit_latency"][1][0] == "ms" and axes["hit_rate"][0][0] == "time (local)"
            assert all(ticks > 1 for chart in axes.values() for _, ticks in chart), axes  # values
            page.wait_for_function(
                "dash.charts.by_type.series.some(s => s.label === 'post')", timeout=10_000
            )  # a line per content type
            assert "post" in page.locator("#types").inner_text()
            assert "up" in page.locator("#engine").inner_text()
            assert "data:popular" in page.locator("#warming").inner_text()
            before = _hit_rates(page)[-1]
            page.screenshot(path=str(tmp_path / "under-traffic.png"), full_page=True)

            page.select_option("select[name=kind]", "tag")
            page.fill("input[name=value]", "posts")
            page.click("#invalidate")
            page.wait_for_function(
                "document.getElementById('result').textContent.includes('invalidated')",
                timeout=10_000,
            )
            # Within 10 s a point drawn after the invalidation is below the rate before it.
            dip = (
                f"(() => {{ const [x, y] = {HIT_RATES}; return x.some((t, i) =>"
                f" t > {before[0]} && y[i] != null && y[i] < {before[1]} - 2) }})()"
            )
            try:
                page.wait_for_function(dip, timeout=10_000)
            except PlaywrightTimeout:
                pytest.fail(f"no dip below {before}: {_hit_rates(page)[-15:]}")
            events = page.evaluate("dash.events")
            assert [(e["kind"], e["value"]) for e in events] == [("tag", "posts")]
            assert events[0]["t"] > before[0] - 1  # its marker stands on the time axis
            page.click("#traffic")  # stop it
        finally:
            browser.close()
