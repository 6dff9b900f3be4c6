"""The rendered report and index in a real browser: Chromium driven by Playwright, from file://.

Checks what only a browser can: nothing is fetched but the page itself, no
console error, every chart has drawn data, the verdict is above the fold, the
page reads the same with JavaScript off, and hostile strings stay text. A
full-page screenshot goes to the test's folder (and to docs/report-screenshot.png
with GAMEDAY_SAVE_SCREENSHOT set). Needs the system Chromium (Debian's
``chromium`` package) and ``pip install playwright``; missing either fails.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reports.index import render_index
from reports.render import render_run
from tests.unit.test_report_render import build_gameday

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}
REPO = Path(__file__).resolve().parents[2]
PWNED = "<script>window.__pwned=1</script>"
PWNED_TITLE = '"><script>window.__pwned=2</script><b onmouseover="window.__pwned=3">'


@pytest.fixture
def real_run_dir(tmp_path: Path) -> Path:
    """GAMEDAY_REPORT_RUN_DIR (a real run folder, copied), else a synthetic gameday."""
    given = os.environ.get("GAMEDAY_REPORT_RUN_DIR")
    target = tmp_path / "run"
    if given:
        shutil.copytree(given, target, ignore=shutil.ignore_patterns("report.html", "stack"))
        return target
    return build_gameday(target)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed: .venv/bin/pip install playwright")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def make_hostile(run: Path) -> None:
    """A DLQ payload and an experiment title that would run script if not escaped."""
    folders = sorted(p.parent for p in run.glob("*/journal.json")) or [run]
    folder = folders[0]
    sample = [{"messageId": "m-hostile", "body": PWNED, "attributes": {"errorType": PWNED}}]
    (folder / "dlq-sample.json").write_text(json.dumps(sample))
    journal = folder / "journal.json"
    if journal.is_file():
        data = json.loads(journal.read_text())
        data.setdefault("experiment", {})["title"] = PWNED_TITLE
        journal.write_text(json.dumps(data))
    summary = run / "gameday.json"
    if summary.is_file():  # gameday.json's title wins in the summary table: make it hostile too
        data = json.loads(summary.read_text())
        for outcome in data.get("outcomes", []):
            if outcome.get("experiment") == folder.name:
                outcome["title"] = PWNED_TITLE
        summary.write_text(json.dumps(data))


class Visit:
    """One page load with every request, console error and page error recorded."""

    def __init__(self, browser: Any, path: Path, *, javascript: bool = True) -> None:
        self.context = browser.new_context(viewport=VIEWPORT, java_script_enabled=javascript)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url, wait_until="load")

    def close(self) -> None:
        self.context.close()


def charts_drawn(page: Any) -> list[str]:
    """The title of every chart with nothing drawn in it (no points, no rect, no path)."""
    empty = []
    charts = page.locator("svg[role=img]")
    for n in range(charts.count()):
        chart = charts.nth(n)
        drawn = chart.locator(
            "polyline[points]:not([points='']), rect[width]:not([width='0']), path[d]"
        ).count()
        if not drawn:
            empty.append(chart.locator("title").first.text_content() or f"chart {n}")
    return empty


def test_the_report_in_a_browser(browser: Any, real_run_dir: Path, tmp_path: Path) -> None:
    make_hostile(real_run_dir)
    report = render_run(real_run_dir)
    visit = Visit(browser, report)
    page = visit.page
    try:
        assert visit.requests == [visit.url], "the report fetched something"
        assert visit.errors == []
        charts = page.locator("svg[role=img]")
        assert charts.count() > 0
        assert charts_drawn(page) == []
        banner = page.locator("section.banner").bounding_box()
        assert banner is not None
        assert banner["y"] >= 0 and banner["y"] + banner["height"] <= VIEWPORT["height"]
        assert page.evaluate("window.__pwned") is None
        assert page.get_by_text(PWNED, exact=True).first.is_visible()
        page.locator("h2", has_text="window.__pwned=2").first.scroll_into_view_if_needed()
        assert page.locator("h2", has_text="window.__pwned=2").first.is_visible()
        page.locator("h2", has_text="window.__pwned=2").first.hover()
        assert page.evaluate("window.__pwned") is None
        text = page.locator("body").inner_text()
        count = charts.count()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        if os.environ.get("GAMEDAY_SAVE_SCREENSHOT"):
            page.screenshot(path=str(REPO / "docs" / "report-screenshot.png"), full_page=True)
    finally:
        visit.close()
    still = Visit(browser, report, javascript=False)
    try:
        assert still.requests == [still.url]
        assert still.page.locator("svg[role=img]").count() == count
        assert still.page.locator("body").inner_text() == text
        assert charts_drawn(still.page) == []
    finally:
        still.close()


def test_the_index_in_a_browser(browser: Any, real_run_dir: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    first = runs / "20261201T100000Z-gameday"
    shutil.copytree(real_run_dir, first)
    shutil.copytree(real_run_dir, runs / "20261202T100000Z-gameday")
    render_run(first)
    index = render_index(runs)
    visit = Visit(browser, index)
    try:
        assert visit.requests == [visit.url]
        assert visit.errors == []
        assert visit.page.locator("#run-list tbody tr").count() == 2
        assert charts_drawn(visit.page) == []
        assert visit.page.locator("svg[role=img]").count() >= 1
        visit.page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    finally:
        visit.close()
