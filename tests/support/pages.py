"""Page objects shared by the browser stories: her phone (360x640, touch, 2G emulated through the
Chrome DevTools protocol, JavaScript on or off), screenshots for a person to look at, and what
the page and the server saw of each POST. What a story types (its sentinels, its files) stays
in the test file, in a subclass or passed as arguments.

    class MyPhone(Phone):
        def tells(self, narrative: str) -> None: ...

    phone = MyPhone(browser, base, js=False, shots="reporter-nojs")
    phone.opens("/report")
    phone.shot("form")  # <tmp>/reporter-nojs-form.png
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask

from tests.support.browser import Watch

# 2G as the stories emulate it: 300 ms latency, 250 kbit/s down, 50 kbit/s up
TWO_G = {
    "offline": False,
    "latency": 300,
    "downloadThroughput": 250 * 1024 / 8,
    "uploadThroughput": 50 * 1024 / 8,
}
SHOTS = Path(tempfile.gettempdir())


def screenshot(page: Any, name: str, full: bool = False) -> Path:
    """A screenshot of `page` as <tmp>/<name>.png (the whole page if `full`)."""
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    return path


class Phone:
    """Her phone: 360x640, touch, 2G, JavaScript on unless `js=False`. Its screenshots are named
    `<shots>-<name>.png`; `watch` keeps what the page said and asked for, `posts` the body of
    every POST as the page sent it. `scale` is the device pixel ratio (the browser's default
    if None); `timeout` the page's default timeout in ms (Playwright's if None), and
    `goto_timeout` that of `opens`."""

    def __init__(
        self,
        browser: Any,
        base: str,
        *,
        js: bool = True,
        shots: str = "phone",
        scale: float | None = None,
        timeout: float | None = None,
        goto_timeout: float | None = None,
    ) -> None:
        self.base, self.shots, self.goto_timeout = base, shots, goto_timeout
        options: dict[str, Any] = {
            "viewport": {"width": 360, "height": 640},
            "is_mobile": True,
            "has_touch": True,
            "java_script_enabled": js,
        }
        if scale is not None:
            options["device_scale_factor"] = scale
        self.context = browser.new_context(**options)
        self.page = self.context.new_page()
        if timeout is not None:
            self.page.set_default_timeout(timeout)
        self.watch = Watch.on(self.page)
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        self.network(TWO_G)
        self.posts: list[bytes] = []
        self.page.on(
            "request",
            lambda r: self.posts.append(r.post_data_buffer or b"") if r.method == "POST" else None,
        )

    def network(self, conditions: dict[str, Any]) -> None:
        self.cdp.send("Network.emulateNetworkConditions", conditions)

    def offline(self) -> None:
        self.network({**TWO_G, "offline": True})

    def online(self) -> None:
        self.network(TWO_G)

    def shot(self, name: str, full: bool = False) -> None:
        screenshot(self.page, f"{self.shots}-{name}", full)

    def opens(self, path: str) -> None:
        if self.goto_timeout is None:
            self.page.goto(self.base + path)
        else:
            self.page.goto(self.base + path, timeout=self.goto_timeout)

    def answers(self, url_glob: str, html: str) -> None:
        """Requests to `url_glob` answered here with `html` (the machine has no network)."""
        self.context.route(
            url_glob, lambda route: route.fulfill(body=html, content_type="text/html")
        )

    def close(self) -> None:
        self.context.close()


class BodyRecorder:
    """WSGI middleware that keeps every POST body exactly as it reached the server."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app, self.bodies = wsgi_app, []

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            self.bodies.append(body)
            environ["wsgi.input"] = io.BytesIO(body)
        return self.wsgi_app(environ, start_response)


def record_posts(app: Flask) -> BodyRecorder:
    """Every POST body the app receives from now on, in `.bodies`."""
    recorder = BodyRecorder(app.wsgi_app)
    app.wsgi_app = recorder  # type: ignore[method-assign]
    return recorder
