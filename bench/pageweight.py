"""Page weight: bytes over the wire (gzip, level 6 as nginx's default) of a page on first
visit plus every local asset it loads, and the count of third-party hosts referenced; for each
language whose catalog is complete (the figure printed is the heaviest language's).

As a program, printing the figures as one JSON object (the requests share one app context, as
in `python -m bench`):
    python -m bench.pageweight [--database-url URL]
on that migrated database, or else on a bench database of its own."""

from __future__ import annotations

import argparse
import gzip
import json
import re
from html.parser import HTMLParser

from flask.testing import FlaskClient

from bench.common import bench_app, bench_database
from reporter.web.i18n import COMPLETE_LANGUAGES


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


# The app settings `make bench` weighs with: every language whose catalog is complete, so the
# figures hold for a reader of any of them (translations are longer or shorter than English).
APP_SETTINGS = {"LANGUAGES": ",".join(COMPLETE_LANGUAGES)}


def weigh_language(client: FlaskClient, lang: str) -> dict[str, int]:
    """The three page weights for one language, through its /<lang>/ addresses."""
    prefix = f"/{lang}"
    nojs, hosts_a = weigh(client, f"{prefix}/report", with_js=False)
    js, hosts_b = weigh(client, f"{prefix}/report", with_js=True)
    map_bytes, hosts_c = weigh(client, f"{prefix}/map", with_js=True)
    return {
        "report_page_gzip_bytes_nojs": nojs,
        "report_page_gzip_bytes_js": js,
        "map_page_gzip_bytes": map_bytes,
        "third_party_hosts": hosts_a + hosts_b + hosts_c,
    }


def run(client: FlaskClient) -> dict[str, object]:
    """Each figure's maximum over the complete languages the app serves, and each language's."""
    served = client.application.extensions["reporter.settings"].languages
    by_language = {
        lang: weigh_language(client, lang) for lang in COMPLETE_LANGUAGES if lang in served
    }
    figures: dict[str, object] = {
        name: max(weights[name] for weights in by_language.values())
        for name in next(iter(by_language.values()))
    }
    figures["page_weight_languages"] = ",".join(by_language)
    figures["page_weight_heaviest_language"] = {
        name: max(by_language, key=lambda lang, n=name: by_language[lang][n])
        for name in (
            "report_page_gzip_bytes_nojs",
            "report_page_gzip_bytes_js",
            "map_page_gzip_bytes",
        )
    }
    figures["page_weight_by_language"] = by_language
    return figures


def run_on(url: str) -> dict[str, object]:
    """run() with an app of `make bench`'s settings on the database at `url`."""
    app = bench_app(url, **APP_SETTINGS)
    try:
        with app.app_context():
            return run(app.test_client())
    finally:
        app.extensions["reporter.db"].engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pageweight")
    parser.add_argument("--database-url", help="a migrated database (else one of its own)")
    args = parser.parse_args(argv)
    if args.database_url:
        figures = run_on(args.database_url)
    else:
        with bench_database() as url:
            figures = run_on(url)
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
