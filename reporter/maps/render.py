"""Turning suppressed cell counts into GeoJSON, a legend and a folium map rendered into our page.

Folium is used for what it is good at (building Leaflet code from Python); what it would fetch
from CDNs is replaced by our own static files, its page-level styles are dropped (our
static/css/map.css sizes the map), and every inline <script>/<style> it emits carries the
response's CSP nonce. No iframe: the parts go straight into templates/maps/map.html.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

import folium
import h3
from branca.element import Figure
from flask import url_for
from folium.plugins import HeatMap
from folium.template import Template
from markupsafe import Markup, escape

from reporter.config import Settings
from reporter.domain import gazetteer
from reporter.maps.fuzz import SA_BBOX

# Colour classes for counts (YlOrRd, readable with the common colour-vision deficiencies).
COLOURS = ("#fed976", "#fd8d3c", "#e31a1c", "#800026")
TOWN_COLOUR = "#1d4e89"


@dataclass(frozen=True)
class CountClass:
    low: int
    high: int | None  # inclusive; None = no upper bound
    colour: str
    css: str

    @property
    def label(self) -> str:
        return f"{self.low}+" if self.high is None else f"{self.low}–{self.high}"


def count_classes(k: int) -> list[CountClass]:
    """Fixed classes starting at k (never below it): k..2k-1, 2k..4k-1, 4k..8k-1, 8k+."""
    bounds = [k, 2 * k, 4 * k, 8 * k]
    out = []
    for i, low in enumerate(bounds):
        high = bounds[i + 1] - 1 if i + 1 < len(bounds) else None
        out.append(CountClass(low, high, COLOURS[i], f"c{i + 1}"))
    return out


def class_of(count: int, classes: list[CountClass]) -> CountClass:
    for c in reversed(classes):
        if count >= c.low:
            return c
    raise ValueError("counts below k are never drawn")


def boundary(cell: str) -> list[list[float]]:
    """The hexagon's ring as [lon, lat] pairs (rounded to about a metre), closed."""
    ring = [[round(lng, 5), round(lat, 5)] for lat, lng in h3.cell_to_boundary(cell)]
    return [*ring, ring[0]]


class CellFilters(Protocol):
    """What cells_geojson needs of a filter set (the map's Filters, or an export's)."""

    @property
    def res(self) -> int: ...

    def public(self) -> dict[str, Any]: ...


def cells_geojson(
    cells: list[tuple[str, int]], f: CellFilters, settings: Settings
) -> dict[str, Any]:
    """Hexagon polygons only (never a point), with k and the filters: the /api/v1/cells body
    and an export's cells.geojson."""
    return {
        "type": "FeatureCollection",
        "k": settings.k_anonymity,
        "privacy_radius_m": settings.privacy_radius_m,
        "count_noise": False,  # releases carry exact, suppressed counts (docs/maps.md)
        "resolution": f.res,
        "filters": f.public(),
        "features": [
            {
                "type": "Feature",
                "id": cell,
                "properties": {"cell": cell, "resolution": f.res, "count": count},
                "geometry": {"type": "Polygon", "coordinates": [boundary(cell)]},
            }
            for cell, count in cells
        ],
    }


class LocalMap(folium.Map):
    """folium.Map with our own header: no CDN links, no page-wide styles, no viewport meta."""

    _template = Template("""
        {% macro header(this, kwargs) %}{% endmacro %}
        {% macro html(this, kwargs) %}
            <div class="folium-map" id={{ this.get_name()|tojson }}
                 role="region" aria-label={{ this.aria_label|tojson }}></div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map(
                {{ this.get_name()|tojson }},
                {
                    center: {{ this.location|tojson }},
                    crs: L.CRS.{{ this.crs }},
                    ...{{ this.options|tojavascript }}
                }
            );
            {%- if this.control_scale %}
            L.control.scale().addTo({{ this.get_name() }});
            {%- endif %}
            L.control.zoom({
                zoomInTitle: {{ this.zoom_titles[0]|tojson }},
                zoomOutTitle: {{ this.zoom_titles[1]|tojson }}
            }).addTo({{ this.get_name() }});
        {% endmacro %}
    """)

    def __init__(
        self,
        *,
        aria_label: str = "",
        zoom_titles: tuple[str, str] = ("Zoom in", "Zoom out"),
        **kwargs: Any,
    ) -> None:
        # Leaflet's own zoom buttons are titled in English; ours carry the page's language
        super().__init__(zoom_control=False, **kwargs)
        self.aria_label = aria_label
        self.zoom_titles = zoom_titles
        # instance lists: folium's class-level defaults (CDN links) are never used or mutated
        self.default_js = [("leaflet", url_for("static", filename="vendor/leaflet/leaflet.js"))]
        self.default_css = [
            ("leaflet_css", url_for("static", filename="vendor/leaflet/leaflet.css"))
        ]


class LocalHeatMap(HeatMap):
    """folium's HeatMap with the leaflet.heat plugin from our static files."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_js = [
            ("leaflet-heat.js", url_for("static", filename="vendor/folium/leaflet_heat.min.js"))
        ]


@dataclass(frozen=True)
class MapParts:
    head: Markup
    body: Markup
    script: Markup


_INLINE = re.compile(r"<(script|style)\b(?![^>]*\bsrc=)", re.I)


def with_nonce(html: str, nonce: str) -> str:
    """Give every inline <script> and <style> the response's CSP nonce."""
    return _INLINE.sub(lambda m: f'<{m.group(1)} nonce="{nonce}"', html)


def town_layer(name: str, class_name: str = "") -> folium.FeatureGroup:
    """Major towns from the offline gazetteer, each province's largest labelled permanently."""
    towns = folium.FeatureGroup(name=name)
    biggest: dict[str, gazetteer.Town] = {}
    for town in gazetteer.major_towns():
        if town.population > getattr(biggest.get(town.province), "population", 0):
            biggest[town.province] = town
    for town in gazetteer.major_towns():
        extra: dict[str, Any] = {"className": class_name} if class_name else {}
        folium.CircleMarker(
            [town.lat, town.lon],
            radius=3,
            color=TOWN_COLOUR,
            weight=1,
            fill=True,
            fill_opacity=1,
            tooltip=folium.Tooltip(
                tooltip_text(town.name),
                permanent=biggest[town.province] is town,
                direction="right",
                **extra,
            ),
        ).add_to(towns)
    return towns


def tooltip_text(text: str) -> str:
    # folium puts tooltip text into a JS template literal: escape HTML, drop ` and ${
    return str(escape(text)).replace("`", "'").replace("${", "$ {")


def leaflet_words(map_name: str, labels: dict[str, str]) -> str:
    """Leaflet's own English words in the page's language: the layers button's title (also its
    accessible name) and the title of Leaflet's credit (shown with a tile layer)."""

    def js(text: str) -> str:  # a JS string literal that cannot end the <script>
        return json.dumps(text, ensure_ascii=False).replace("</", "<\\/")

    layers = js(labels.get("layers", "Layers"))
    # the credit names Leaflet without a link: no page of ours points to another host
    credit = js(f'<span title="{escape(labels.get("leaflet", "Leaflet"))}">Leaflet</span>')
    return (
        "document.querySelectorAll('.leaflet-control-layers-toggle').forEach(function (a) {"
        f" a.title = {layers}; a.setAttribute('aria-label', {layers}); }});\n"
        f"if ({map_name}.attributionControl) {{ {map_name}.attributionControl.setPrefix("
        f"{credit}); }}"
    )


def build_map(
    cells_fc: dict[str, Any], settings: Settings, nonce: str, labels: dict[str, str]
) -> MapParts:
    """The interactive map: heat layer, hexagon layer with counts, towns, layer switcher."""
    min_lon, min_lat, max_lon, max_lat = SA_BBOX
    # Leaflet's own credit is a link to its website; it is shown only with a tile layer, whose
    # attribution is required anyway
    m = LocalMap(
        location=[-29.0, 25.0],
        zoom_start=5,
        tiles=None,
        min_zoom=4,
        max_zoom=11,
        aria_label=labels["aria"],
        control_scale=True,
        zoom_snap=0.5,
        zoom_titles=(labels.get("zoom_in", "Zoom in"), labels.get("zoom_out", "Zoom out")),
        attribution_control=bool(settings.tile_url),
    )
    if settings.tile_url:
        folium.TileLayer(
            tiles=settings.tile_url,
            attr=settings.tile_attribution or "",
            name=labels["tiles"],
            min_zoom=4,
            max_zoom=11,
        ).add_to(m)
    m.fit_bounds([[min_lat, min_lon], [max_lat, max_lon]])

    _add_cell_layers(m, cells_fc["features"], settings, labels)
    town_layer(labels["towns"], class_name="town-label").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return _map_parts(m, nonce, labels)


def _add_cell_layers(
    m: LocalMap, features: list[dict[str, Any]], settings: Settings, labels: dict[str, str]
) -> None:
    """The heat layer and the hexagon layer with counts (none when no cell is shown)."""
    classes = count_classes(settings.k_anonymity)
    if features:
        heat = []
        top = max(f["properties"]["count"] for f in features)
        for feat in features:
            lat, lng = h3.cell_to_latlng(feat["properties"]["cell"])
            heat.append([round(lat, 4), round(lng, 4), feat["properties"]["count"]])
        LocalHeatMap(
            heat,
            name=labels["heat"],
            radius=22,
            blur=18,
            min_opacity=0.3,
            max=float(top),
            max_zoom=9,
        ).add_to(m)

        def style(feature: dict[str, Any]) -> dict[str, Any]:
            c = class_of(feature["properties"]["count"], classes)
            return {"color": "#4d4d4d", "weight": 1, "fillColor": c.colour, "fillOpacity": 0.7}

        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name=labels["cells"],
            style_function=style,
            tooltip=folium.GeoJsonTooltip(fields=["count"], aliases=[labels["count"]]),
        ).add_to(m)


def _map_parts(m: LocalMap, nonce: str, labels: dict[str, str]) -> MapParts:
    """The rendered map as the page's head, body and script (the scripts with the nonce)."""
    fig = m.get_root()
    assert isinstance(fig, Figure)  # a folium Map puts itself in a Figure
    fig.header._children.pop("meta_http", None)  # we set our own charset
    fig.render()
    head = with_nonce(fig.header.render(), nonce)
    body = fig.html.render()
    script = (
        f'<script nonce="{nonce}">{fig.script.render()}\n'
        f"{leaflet_words(m.get_name(), labels)}</script>"
    )
    return MapParts(Markup(head), Markup(body), Markup(script))  # noqa: S704 - built above from escaped parts
