"""Small helpers for real-browser tests: the app served on a loopback port, and Debian's Chromium
driven by Playwright. Generic on purpose: any test can reuse them.

    with live_server(app) as base, chromium() as browser:
        page = browser.new_page()
        watch = Watch.on(page)
        page.goto(base + "/map")
        assert not watch.csp_violations() and not watch.foreign_requests(base)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 and a free port in a thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Debian's) through Playwright; yields the Browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watch:
    """What a page said and asked for while it was open: console lines, page errors, requests."""

    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @classmethod
    def on(cls, page: Any) -> Watch:
        watch = cls()
        page.on("console", lambda msg: watch.console.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda exc: watch.errors.append(str(exc)))
        page.on("request", lambda req: watch.requests.append(req.url))
        return watch

    def csp_violations(self) -> list[str]:
        return [
            line
            for line in self.console + self.errors
            if "Content Security Policy" in line or "Refused" in line
        ]

    def foreign_requests(self, base: str) -> list[str]:
        """Requests to any host other than the live server's (data: and blob: are local)."""
        own = urlsplit(base).netloc
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != own
        ]
