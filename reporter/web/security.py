"""Response headers, cookies and logging that keep promise 4 (no identifying traces)."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import quote, urlsplit

from flask import Flask, Response, g, request
from flask.sessions import SecureCookieSessionInterface

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "ambient-light-sensor",
        "autoplay",
        "battery",
        "bluetooth",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "web-share",
        "xr-spatial-tracking",
        "interest-cohort",
    )
)


def csp_nonce() -> str:
    """A fresh nonce per response, for the one inline script folium cannot avoid."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy(tile_url: str | None) -> str:
    img = ["'self'", "data:", "blob:"]
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        img.append(f"{parts.scheme}://{parts.netloc.replace('a.', '*.', 1)}")
    nonce = g.get("csp_nonce")
    script = ["'self'"] + ([f"'nonce-{nonce}'"] if nonce else [])
    style = ["'self'"] + ([f"'nonce-{nonce}'"] if nonce else [])
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(script)}",
            f"style-src {' '.join(style)}",
            f"img-src {' '.join(img)}",
            "font-src 'self'",
            "connect-src 'self'",
            "media-src 'self' blob:",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "manifest-src 'self'",
            "worker-src 'self'",
        ]
    )


class SessionInterface(SecureCookieSessionInterface):
    """`Secure` cookies whenever the request came over HTTPS (an onion service is plain HTTP)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure


SUBRESOURCE_TYPES = frozenset({"text/javascript", "application/javascript", "text/css"})


def init_app(app: Flask) -> None:
    settings = app.extensions["reporter.settings"]
    app.session_interface = SessionInterface()
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="s",
    )

    @app.after_request
    def _headers(resp: Response) -> Response:
        h = resp.headers
        # A script or a stylesheet is never a document: the document-only headers (CSP,
        # Permissions-Policy, framing, opener) do nothing on it and cost a reporter on 2G
        # about 0.8 KB per file. HTML, SVG (which can open as a document), JSON and every
        # non-static answer keep them all.
        subresource = request.endpoint == "static" and resp.mimetype in SUBRESOURCE_TYPES
        if not subresource:
            h["Content-Security-Policy"] = content_security_policy(settings.tile_url)
            h["X-Frame-Options"] = "DENY"
            h["Permissions-Policy"] = PERMISSIONS_POLICY
            h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Referrer-Policy"] = "no-referrer"
        h["X-Content-Type-Options"] = "nosniff"
        h["Cross-Origin-Resource-Policy"] = "same-origin"
        if request.is_secure:
            h["Strict-Transport-Security"] = "max-age=63072000"
        if request.endpoint == "static":
            h["Cache-Control"] = "public, max-age=86400"
        elif resp.cache_control.public:
            # a view declared its response public on purpose (the aggregate map API and
            # image, the same for everyone): it keeps its own Cache-Control. Anything else,
            # including send_file's default "no-cache", is overwritten with no-store.
            pass
        else:
            h["Cache-Control"] = "no-store"
            h["Pragma"] = "no-cache"
        if settings.onion_address:
            h["Onion-Location"] = onion_location(settings.onion_address)
        # a server banner is one more fingerprint; gunicorn's is removed in gunicorn.conf.py
        h.pop("Server", None)
        return resp


def onion_location(onion: str) -> str:
    """The same address on the onion service, from the path percent-encoded again: the decoded
    path can hold CR, LF or U+2028, which are not allowed in a header (finding 13.13)."""
    path = quote(request.path, safe="/:@!$&'()*+,;=-._~")
    query = quote(request.query_string.decode("latin-1"), safe="/?:@!$&'()*+,;=-._~%")
    return f"http://{onion}{path}" + (f"?{query}" if query else "")


class NoClientDetails(logging.Filter):
    """Last line of defence: drop werkzeug's per-request lines, which carry the client address.

    The app itself never logs request.remote_addr, headers or bodies; gunicorn's access log is
    off (gunicorn.conf.py). This filter is attached to werkzeug's logger for the dev server.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # request lines are formatted from args that start with the client address
        return record.levelno >= logging.ERROR and not record.args


def quiet_werkzeug() -> None:
    log = logging.getLogger("werkzeug")
    log.setLevel(logging.ERROR)
    log.addFilter(NoClientDetails())
