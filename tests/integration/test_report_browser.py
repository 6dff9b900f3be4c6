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
import yaml

from gameday.project import bundled_experiments
from reports.index import render_index
from reports.render import render_run
from tests.conftest import run_gameday
from tests.integration.conftest import System, order

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
EXPERIMENTS = bundled_experiments()
PWNED = "<script>window.__pwned=1</script>"
PWNED_TITLE = '"><script>window.__pwned=2</script><b onmouseover="window.__pwned=3">'


@pytest.fixture(scope="module")
def gameday_run(system: System, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real gameday run on the shared stack, with hostile strings that came through it:
    a poison order whose note is a script (dead-lettered by the worker, so it is in the
    run's DLQ sample) and an experiment whose title breaks out of an attribute."""
    system.clear_faults()
    # the report samples the first 20 dead letters: earlier tests' must not crowd ours out
    system.aws("sqs").purge_queue(QueueUrl=system.resources["dlq_url"])
    hostile = order("hostile", currency="XXX", note=PWNED)  # envelope-valid, business-invalid
    answer = system.post(hostile, key=f"key-{hostile['orderId']}")
    assert answer.status_code == 202, answer.text
    system.wait_for(
        lambda: hostile["orderId"] in system.dlq_order_ids(), 30, "the hostile order in the DLQ"
    )
    folder = tmp_path_factory.mktemp("browser")
    experiment = yaml.safe_load((EXPERIMENTS / "poison-payloads.yaml").read_text())
    experiment["title"] = PWNED_TITLE
    path = folder / "hostile-poison.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    run_dir = folder / "run"
    result = run_gameday(
        "run",
        str(path),
        "--time-scale",
        "0.1",
        "--run-dir",
        str(run_dir),
        state_dir=system.state_dir,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    sample = json.loads((run_dir / "hostile-poison" / "dlq-sample.json").read_text())
    assert any(PWNED in m["body"] for m in sample["messages"]), "the hostile body is not sampled"
    return run_dir


@pytest.fixture
def real_run_dir(gameday_run: Path, tmp_path: Path) -> Path:
    """A copy of the real run for one test (each renders into it)."""
    target = tmp_path / "run"
    shutil.copytree(gameday_run, target, ignore=shutil.ignore_patterns("stack"))
    return target


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
        assert page.get_by_text(PWNED).first.is_visible()
        page.locator("h2", has_text="window.__pwned=2").first.scroll_into_view_if_needed()
        assert page.locator("h2", has_text="window.__pwned=2").first.is_visible()
        page.locator("h2", has_text="window.__pwned=2").first.hover()
        assert page.evaluate("window.__pwned") is None
        text = page.locator("body").inner_text()
        count = charts.count()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        if os.environ.get("GAMEDAY_SAVE_SCREENSHOT"):  # the README's pictures
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(REPO / "docs" / "report-screenshot.png"))
            charts.first.scroll_into_view_if_needed()
            page.evaluate("window.scrollBy(0, -60)")
            page.screenshot(path=str(REPO / "docs" / "report-charts.png"))
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
