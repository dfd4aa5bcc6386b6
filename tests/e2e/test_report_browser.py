"""Headless Chromium opens the HTML report built from the demo warehouse: every chart renders with data,
nothing is logged as an error, nothing is fetched from the network, and a full-page screenshot is kept
in `test-artifacts/` (with the report itself).

Chromium is driven through the DevTools protocol (a small websocket client) rather than `--dump-dom`:
the page says when plotly has finished (`window.__reportReady`), console errors and exceptions arrive
as events, and the screenshot covers the whole page.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from saas_analytics.dashboards.definitions import load_dashboards
from saas_analytics.dashboards.report import build_report

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
WIDTH = 1400


def find_chromium(wait: float) -> str | None:
    """Chromium's path; polls up to `wait` seconds (it may still be being installed)."""
    deadline = time.monotonic() + wait
    while True:
        for candidate in CHROMIUM_CANDIDATES:
            found = candidate if os.path.isabs(candidate) and os.access(candidate, os.X_OK) else shutil.which(candidate)
            if found:
                return found
        if time.monotonic() >= deadline:
            return None
        time.sleep(5)


class Chromium:
    """Headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, binary: str, workdir: Path):
        from websockets.sync.client import connect

        self.profile = workdir / "chromium-profile"
        self.profile.mkdir(parents=True)
        self.log_path = workdir / "chromium.log"
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             f"--window-size={WIDTH},3000", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log_path.open("w"),
        )
        self.events: list[dict] = []
        self._next_id = 0
        try:
            port = self._devtools_port(timeout=60)
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
                targets = json.load(answer)
            page = next(t for t in targets if t.get("type") == "page")
            self.ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=20)
        except Exception:
            self.close()
            raise

    def _devtools_port(self, timeout: float) -> int:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            lines = port_file.read_text().splitlines() if port_file.exists() else []
            if lines and lines[0].strip().isdigit():
                return int(lines[0])
            time.sleep(0.2)
        raise RuntimeError(f"chromium did not open its DevTools port in {timeout}s")

    def send(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        """Send a command and wait for its answer, keeping the events that arrive meanwhile."""
        self._next_id += 1
        self.ws.send(json.dumps({"id": self._next_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for_event(self, method: str, timeout: float = 60) -> dict:
        """Wait for an event (it may already have arrived)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {method} within {timeout}s")
            try:
                self.events.append(json.loads(self.ws.recv(timeout=remaining)))
            except TimeoutError:
                continue

    def evaluate(self, expression: str) -> object:
        """The JSON value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        errors = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                errors.append("exception: " + str(details.get("exception", {}).get("description", details.get("text"))))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                errors.append("log: " + params["entry"].get("text", ""))
        return errors

    def requested_urls(self) -> list[str]:
        """Every URL the page requested."""
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        """Close the websocket and stop the browser process (only the one this object started)."""
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


CHART_CHECK = """
(() => Array.from(document.querySelectorAll('article.card')).map(card => {
  const el = card.querySelector('.chart');
  const data = (el && el._fullData) || [];
  const size = v => Array.isArray(v) ? v.length : 0;
  const points = data.reduce((n, t) => n + size(t.x) + size(t.y) + size(t.z) + size(t.values)
      + (t.type === 'indicator' && t.value !== undefined && t.value !== null ? 1 : 0)
      + (t.type === 'table' && t.cells ? t.cells.values.reduce((m, c) => m + size(c), 0) : 0), 0);
  const marks = el ? el.querySelectorAll(
      '.scatterlayer .trace path.js-line, .scatterlayer .trace path.js-fill, .scatterlayer .point,'
      + ' .barlayer .point path, .waterfalllayer .point path, .pielayer .slice path, .heatmaplayer image,'
      + ' .indicatorlayer text.number,'
      + ' .table .cell-text').length : 0;
  const box = el ? el.getBoundingClientRect() : {width: 0, height: 0};
  return {card: card.dataset.card, display: card.dataset.display, rows: Number(card.dataset.rows),
          rendered: !!el && el.dataset.rendered === 'true', svg: el ? el.querySelectorAll('svg.main-svg').length : 0,
          traces: data.length, points: points, marks: marks, width: box.width, height: box.height,
          empty_note: !!el && /No data/.test(el.textContent)};
}))()
"""


@pytest.fixture(scope="module")
def chromium_binary() -> str:
    """Chromium's path: a failure in CI (it must be installed there), a skip with the reason elsewhere."""
    wait = float(os.environ.get("CHROMIUM_WAIT_SECONDS", "180" if IN_CI else "30"))
    binary = find_chromium(wait)
    if binary is None:
        message = ("Chromium was not found (looked for /usr/bin/chromium, chromium, chromium-browser, google-chrome "
                   f"for {wait:.0f}s); install it with `apt-get install -y chromium` (.ci/run does)")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return binary


@pytest.fixture(scope="module")
def report_file(demo_warehouse: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML report of the demo warehouse, also kept in test-artifacts/."""
    path = tmp_path_factory.mktemp("report") / "saas_analytics_report.html"
    result = build_report(demo_warehouse, path)
    assert result.empty_cards == [], f"cards without rows on the demo data: {result.empty_cards}"
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(path, ARTIFACTS / path.name)
    return path


@pytest.fixture(scope="module")
def browser(chromium_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """A headless Chromium for this module."""
    chromium = Chromium(chromium_binary, tmp_path_factory.mktemp("chromium"))
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="module")
def opened_report(browser: Chromium, report_file: Path) -> dict:
    """The report opened in the browser, after plotly has drawn every chart: the check results."""
    for domain in ("Runtime", "Log", "Page", "Network"):
        browser.send(f"{domain}.enable")
    browser.send("Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": 3000, "deviceScaleFactor": 1,
                                                         "mobile": False})
    browser.send("Page.navigate", {"url": report_file.resolve().as_uri()})
    browser.wait_for_event("Page.loadEventFired", timeout=120)
    deadline = time.monotonic() + 120
    while not browser.evaluate("window.__reportReady === true"):
        assert time.monotonic() < deadline, "the report never finished drawing its charts"
        time.sleep(0.25)
    return {
        "charts": browser.evaluate(CHART_CHECK),
        "page_errors": browser.evaluate("window.__reportErrors"),
        "rendered": browser.evaluate("document.body.dataset.rendered"),
    }


def test_every_chart_renders_with_data(opened_report: dict) -> None:
    charts = opened_report["charts"]
    expected = [card.ref for dashboard in load_dashboards() for card in dashboard.cards]
    assert [c["card"] for c in charts] == expected, "the report should show every card of every dashboard"
    assert opened_report["rendered"] == str(len(expected))
    problems = [
        c for c in charts
        if not (c["rendered"] and c["svg"] > 0 and c["traces"] > 0 and c["points"] > 0 and c["marks"] > 0
                and c["rows"] > 0 and c["width"] > 100 and c["height"] > 80 and not c["empty_note"])
    ]
    assert not problems, f"charts that did not render with data: {json.dumps(problems, indent=1)}"


def test_no_console_errors_and_nothing_fetched(opened_report: dict, browser: Chromium) -> None:
    assert opened_report["page_errors"] == []
    assert browser.console_errors() == []
    remote = [u for u in browser.requested_urls() if not u.startswith(("file:", "data:", "about:"))]
    assert remote == [], f"the report must work offline, but it requested {remote}"


def test_screenshot_is_kept(opened_report: dict, browser: Chromium) -> None:
    metrics = browser.send("Page.getLayoutMetrics")
    height = int(metrics.get("cssContentSize", metrics.get("contentSize"))["height"])
    shot = browser.send("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1},
    }, timeout=120)
    png = base64.b64decode(shot["data"])
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "saas_analytics_report.png"
    path.write_bytes(png)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 50_000, "the screenshot looks blank"
    assert height > 2000, f"the page is only {height}px tall"
