"""Page weight and time as served, in a real browser on 2G (issue 11, DESIGN.md section 7).

The site runs under real gunicorn with the project's gunicorn.conf.py (reporter/ops/servers.py),
on a
fresh database with the 400 demo incidents on the map. Debian's Chromium (never a downloaded
browser), driven by Playwright, opens each page at a phone's 360x640 viewport, in a fresh
context (first visit: nothing cached, no cookie), with 2G emulated through the DevTools
protocol: `Network.emulateNetworkConditions` 300 ms latency, 250 kbit/s down, 50 kbit/s up.

Bytes are what the browser received over the wire: the sum of `Network.loadingFinished`
`encodedDataLength` (headers and bodies, compressed where the server compressed) for every
request the page made, after the network has been quiet for a second. Times:

- `report_js_ready_2g_s`: from navigation start until the report page's enhancement is running
  (report.js has put `has-js` on <html>), in the page's own clock (performance.now());
- `map_page_2g_s`: from navigation start until the last byte the map page asked for arrived
  and its load event ran (Leaflet drawn);
- `form_to_receipt_2g_s`: the form filled in, Send tapped, until `#receipt` is visible,
  whatever the path between (a sealed upload, a redirect to the receipt page); also without
  JavaScript (`form_to_receipt_nojs_2g_s`, informative).

Each figure is measured in every complete language; the figure printed is the worst language's
(weights) or the median over the languages of each language's median of REPEATS runs (times),
and `wire_by_language` has them all. `wire_targets` names each figure's target.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench.common import BENCH_INSTANCE, bench_app, bench_database
from reporter.ops.servers import app_instance, gunicorn, init_instance, warm
from reporter.web.i18n import COMPLETE_LANGUAGES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {
    "viewport": {"width": 360, "height": 640},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# Chrome's bytes per second; kbit = 1000 bits
TWO_G = {
    "offline": False,
    "latency": 300,
    "downloadThroughput": 250_000 / 8,
    "uploadThroughput": 50_000 / 8,
    "connectionType": "cellular2g",
}
REPEATS = 3
QUIET_S = 1.0
TIMEOUT_MS = 90_000
# per-session and global report limits out of the way: this measures the path, not the limiter
LIMITS = {"X_REPORT_LIMIT": "100000 per minute", "X_REPORT_GLOBAL_LIMIT": "100000 per minute"}

TARGETS = {
    "report_page_wire_bytes_js": "<= 35000",
    "report_js_ready_2g_s": "<= 2.5",
    "map_page_wire_bytes": "<= 150000",
    "map_page_2g_s": "<= 5",
    "form_to_receipt_2g_s": "<= 2.5",
    "report_page_wire_bytes_nojs": "<= 20000",
    "wire_third_party_hosts": "0",
}

# when report.js marks the page as enhanced, in the page's clock (navigation start = 0)
READY_SCRIPT = """
(() => {
  const mark = () => {
    const root = document.documentElement;
    if (window.__jsReady === undefined && root && root.classList.contains("has-js")) {
      window.__jsReady = performance.now();
    }
  };
  new MutationObserver(mark).observe(document, {subtree: true, childList: true,
                                                attributes: true, attributeFilter: ["class"]});
})();
"""


RECEIPT_SHOWN = """() => {
  const el = document.getElementById("receipt");
  return !!el && el.offsetParent !== null && (el.textContent.match(/[0-9]/g) || []).length === 16;
}"""


@dataclass
class Traffic:
    """What the DevTools protocol saw of one page's network."""

    pending: set[str] = field(default_factory=set)
    encoded: dict[str, int] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    first: float | None = None  # monotonic seconds (the protocol's clock)
    last: float | None = None
    last_event: float = field(default_factory=time.monotonic)  # our clock, for quiet

    def attach(self, cdp: Any) -> None:
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)

    def _sent(self, e: dict[str, Any]) -> None:
        rid = e["requestId"]
        # a redirect reuses the request id: the hop before it was received in full
        self.pending.add(rid)
        self.urls[rid] = e["request"]["url"]
        self.first = e["timestamp"] if self.first is None else min(self.first, e["timestamp"])
        self.last_event = time.monotonic()

    def _finished(self, e: dict[str, Any]) -> None:
        rid = e["requestId"]
        self.pending.discard(rid)
        self.encoded[rid] = self.encoded.get(rid, 0) + int(e.get("encodedDataLength", 0))
        self.last = e["timestamp"] if self.last is None else max(self.last, e["timestamp"])
        self.last_event = time.monotonic()

    def _failed(self, e: dict[str, Any]) -> None:
        self.pending.discard(e["requestId"])
        self.last_event = time.monotonic()

    def settle(self, page: Any, timeout: float = 90.0) -> None:
        """Wait until nothing is in flight and nothing happened for QUIET_S seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            page.wait_for_timeout(100)  # lets Playwright deliver the protocol's events
            if not self.pending and time.monotonic() - self.last_event >= QUIET_S:
                return
        raise TimeoutError(f"network never settled: {sorted(self.urls[r] for r in self.pending)}")

    @property
    def bytes(self) -> int:
        return sum(self.encoded.values())

    def hosts(self, base: str) -> set[str]:
        own = urlsplit(base).netloc
        return {
            urlsplit(u).netloc
            for u in self.urls.values()
            if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != own
        }

    def seconds(self) -> float:
        return (self.last or 0.0) - (self.first or 0.0)


@contextmanager
def phone(browser: Any, js: bool = True) -> Iterator[tuple[Any, Traffic]]:
    """A fresh context (empty cache, no cookie) on emulated 2G; yields (page, traffic)."""
    context = browser.new_context(java_script_enabled=js, **PHONE)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        if js:
            page.add_init_script(READY_SCRIPT)
        cdp = context.new_cdp_session(page)
        traffic = Traffic()
        traffic.attach(cdp)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", TWO_G)
        yield page, traffic
    finally:
        context.close()


def open_page(browser: Any, base: str, path: str, js: bool) -> dict[str, Any]:
    with phone(browser, js) as (page, traffic):
        page.goto(base + path, wait_until="load")
        traffic.settle(page)
        load_end = page.evaluate(
            "performance.getEntriesByType('navigation')[0].loadEventEnd / 1000"
        )
        ready = (
            page.evaluate("window.__jsReady === undefined ? null : window.__jsReady / 1000")
            if js
            else None
        )
        return {
            "bytes": traffic.bytes,
            "seconds": max(traffic.seconds(), float(load_end)),
            "ready_s": ready,
            "requests": len(traffic.urls),
            "hosts": sorted(traffic.hosts(base)),
        }


def fill_form(page: Any) -> None:
    """What a reporter fills in: one thing that happened, who, when, the province, her words."""
    page.check("input[name=categories]:first-of-type >> nth=0")
    page.check("input[name=perpetrators] >> nth=0")
    page.select_option("#province", "GP")
    # month and year: October of this year when offered, else the first real choice
    for name, wanted in (("month", "10"), ("year", None)):
        values = page.eval_on_selector_all(f"#{name} option", "os => os.map(o => o.value)")
        real = [v for v in values if v]
        if real:
            page.select_option(f"#{name}", wanted if wanted in real else real[0])
    page.fill("#narrative", "Two officers stopped me near the taxi rank and took my money.")


def form_to_receipt(browser: Any, base: str, path: str, js: bool) -> dict[str, Any]:
    with phone(browser, js) as (page, traffic):
        page.goto(base + path, wait_until="load")
        if js:
            page.wait_for_function("document.documentElement.classList.contains('has-js')")
        traffic.settle(page)
        fill_form(page)
        before = traffic.bytes
        started = time.perf_counter()
        page.tap("#send")
        page.wait_for_selector("#receipt", state="visible")
        # on 2G the page arrives in pieces: shown means all 16 digits are on screen
        page.wait_for_function(RECEIPT_SHOWN, polling=20)
        seconds = time.perf_counter() - started
        receipt = page.inner_text("#receipt")
        if sum(ch.isdigit() for ch in receipt) != 16:
            raise RuntimeError(f"no receipt shown: {receipt!r}")
        traffic.settle(page)
        return {"seconds": seconds, "bytes": traffic.bytes - before}


def measure_language(browser: Any, base: str, lang: str, repeats: int) -> dict[str, Any]:
    prefix = "" if lang == "en" else f"/{lang}"
    nojs = open_page(browser, base, f"{prefix}/report", js=False)
    js_runs = [open_page(browser, base, f"{prefix}/report", js=True) for _ in range(repeats)]
    map_runs = [open_page(browser, base, f"{prefix}/map", js=True) for _ in range(repeats)]
    sends = [form_to_receipt(browser, base, f"{prefix}/report", js=True) for _ in range(repeats)]
    send_nojs = form_to_receipt(browser, base, f"{prefix}/report", js=False)
    hosts = set(nojs["hosts"]).union(*(r["hosts"] for r in js_runs + map_runs))
    return {
        "report_page_wire_bytes_nojs": nojs["bytes"],
        "report_page_wire_bytes_js": max(r["bytes"] for r in js_runs),
        "report_js_ready_2g_s": round(statistics.median(r["ready_s"] or 99.0 for r in js_runs), 2),
        "map_page_wire_bytes": max(r["bytes"] for r in map_runs),
        "map_page_2g_s": round(statistics.median(r["seconds"] for r in map_runs), 2),
        "form_to_receipt_2g_s": round(statistics.median(r["seconds"] for r in sends), 2),
        "form_to_receipt_nojs_2g_s": round(send_nojs["seconds"], 2),
        "map_page_requests": max(r["requests"] for r in map_runs),
        "report_page_requests_js": max(r["requests"] for r in js_runs),
        "wire_third_party_hosts": len(hosts),
    }


def missed(figures: dict[str, Any], targets: dict[str, str]) -> list[str]:
    """The names of the figures that miss their target ("<= x" or an exact "0")."""
    out = []
    for name, target in targets.items():
        value = figures.get(name)
        if not isinstance(value, int | float):
            continue
        limit = float(target.removeprefix("<=").strip())
        if (value > limit) if target.startswith("<=") else (value != limit):
            out.append(name)
    return sorted(out)


def _seed(url: str, instance: Any) -> None:
    from reporter.maps.seed import seed_incidents
    from reporter.models import db

    app = bench_app(url, INSTANCE_PATH=str(instance))
    try:
        with app.app_context():
            seed_incidents(db.session(), n=400, rng_seed=1)  # the demo's map
            db.session().commit()
    finally:
        app.extensions["reporter.db"].engine.dispose()


def run(languages: tuple[str, ...] = COMPLETE_LANGUAGES, repeats: int = REPEATS) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    by_language: dict[str, dict[str, Any]] = {}
    with bench_database() as url, app_instance(LIMITS, BENCH_INSTANCE) as instance:
        init_instance(url, instance)
        _seed(url, instance)
        with gunicorn(
            url, instance, workers=2, extra_env={"LANGUAGES": ",".join(languages)}
        ) as server:
            warm(server.base, 2)
            warm(server.base, 2, path="/map")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    for lang in languages:
                        by_language[lang] = measure_language(browser, server.base, lang, repeats)
                finally:
                    browser.close()
    worst = (
        "report_page_wire_bytes_nojs",
        "report_page_wire_bytes_js",
        "map_page_wire_bytes",
        "map_page_requests",
        "report_page_requests_js",
        "wire_third_party_hosts",
    )
    figures: dict[str, Any] = {}
    for name in next(iter(by_language.values())):
        values = [weights[name] for weights in by_language.values()]
        figures[name] = max(values) if name in worst else round(statistics.median(values), 2)
    figures["wire_targets"] = TARGETS
    figures["wire_by_language"] = by_language
    return figures


if __name__ == "__main__":
    import json
    import os

    langs = tuple(os.environ.get("BENCH_LANGUAGES", ",".join(COMPLETE_LANGUAGES)).split(","))
    print(json.dumps(run(langs, int(os.environ.get("BENCH_REPEATS", REPEATS))), sort_keys=True))
