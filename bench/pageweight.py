"""Page weight: bytes over the wire (gzip, level 6 as nginx's default) of a page on first
visit plus every local asset it loads, and the count of third-party hosts referenced."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser

from flask.testing import FlaskClient


class _Assets(HTMLParser):
    def __init__(self, with_js: bool) -> None:
        super().__init__()
        self.with_js = with_js
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "link" and a.get("rel") in ("stylesheet", "icon", "preload") and a.get("href"):
            self.refs.append(str(a["href"]))
        elif tag == "script" and a.get("src") and self.with_js:
            self.refs.append(str(a["src"]))
        elif tag == "img" and a.get("src"):
            self.refs.append(str(a["src"]))


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def weigh(client: FlaskClient, path: str, with_js: bool) -> tuple[int, int]:
    """(gzip bytes of page + assets, number of third-party hosts referenced)."""
    resp = client.get(path)
    body = resp.get_data()
    resp.close()
    total = gz(body)
    hosts = set(re.findall(rb"(?:src|href)=[\"'](?:https?:)?//([^/\"']+)", body))
    parser = _Assets(with_js)
    parser.feed(body.decode())
    for ref in dict.fromkeys(parser.refs):
        if not ref.startswith("/"):
            hosts.add(ref.encode())
            continue
        asset = client.get(ref)
        data = asset.get_data()
        asset.close()
        total += gz(data)
        if ref.endswith(".css"):
            for sub in re.findall(rb"url\(['\"]?(/[^)'\"]+)", data):
                part = client.get(sub.decode())
                total += gz(part.get_data())
                part.close()
    return total, len(hosts)


def run(client: FlaskClient) -> dict[str, int]:
    nojs, hosts_a = weigh(client, "/report", with_js=False)
    js, hosts_b = weigh(client, "/report", with_js=True)
    map_bytes, hosts_c = weigh(client, "/map", with_js=True)
    return {
        "report_page_gzip_bytes_nojs": nojs,
        "report_page_gzip_bytes_js": js,
        "map_page_gzip_bytes": map_bytes,
        "third_party_hosts": hosts_a + hosts_b + hosts_c,
    }
