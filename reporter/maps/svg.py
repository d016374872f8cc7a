"""A server-drawn map image for browsers without JavaScript: suppressed hexagons, major towns and
a legend on a plain longitude/latitude projection (no borders or coastline are available offline;
the towns and the graticule give the bearings).

Only presentation attributes are used (no style attributes or <style>), so the strict CSP on the
image response never blocks anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from xml.sax.saxutils import escape

import h3

from reporter.domain import gazetteer
from reporter.maps.fuzz import SA_BBOX
from reporter.maps.render import TOWN_COLOUR, CountClass, class_of, count_classes

WIDTH = 640
MARGIN = 28
LAT0 = math.radians(-28.5)  # the projection's standard parallel, mid South Africa
MIN_SYMBOL_PX = 6.0  # hexagons smaller than this on screen are drawn at this radius

Projection = Callable[[float, float], tuple[float, float]]


def _projector(width: int) -> tuple[int, Projection]:
    min_lon, min_lat, max_lon, max_lat = SA_BBOX
    k = math.cos(LAT0)
    scale = (width - 2 * MARGIN) / ((max_lon - min_lon) * k)
    height = int((max_lat - min_lat) * scale) + 2 * MARGIN

    def project(lat: float, lon: float) -> tuple[float, float]:
        return (MARGIN + (lon - min_lon) * k * scale, MARGIN + (max_lat - lat) * scale)

    return height, project


def size() -> tuple[int, int]:
    """(width, height) of the image, for the page's <img> attributes."""
    map_height, _project = _projector(WIDTH)
    return WIDTH, map_height + 8 + 80


def _hexagon(cell: str, project: Projection) -> str:
    cy_lat, cx_lon = h3.cell_to_latlng(cell)
    cx, cy = project(cy_lat, cx_lon)
    pts = [project(lat, lon) for lat, lon in h3.cell_to_boundary(cell)]
    radius = max(math.hypot(x - cx, y - cy) for x, y in pts)
    grow = max(1.0, MIN_SYMBOL_PX / radius) if radius else 1.0
    return " ".join(f"{cx + (x - cx) * grow:.1f},{cy + (y - cy) * grow:.1f}" for x, y in pts)


def map_svg(cells: list[tuple[str, int]], k: int, text: dict[str, str]) -> str:
    """The SVG document. `cells` are already suppressed (every count >= k)."""
    map_height, project = _projector(WIDTH)
    classes = count_classes(k)
    legend_y = map_height + 8
    height = legend_y + 80
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-labelledby="t d" '
        'font-family="sans-serif" font-size="12">',
        f'<title id="t">{escape(text["title"])}</title>',
        f'<desc id="d">{escape(text["desc"])}</desc>',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<rect x="{MARGIN}" y="{MARGIN}" width="{WIDTH - 2 * MARGIN}" '
        f'height="{map_height - 2 * MARGIN}" fill="#eef3f7" stroke="#b8c4ce"/>',
    ]
    out += _graticule(project, map_height)

    out.append('<g id="cells" stroke="#4d4d4d" stroke-width="0.5" fill-opacity="0.85">')
    for cell, count in sorted(cells, key=lambda c: c[1]):
        colour = class_of(count, classes).colour
        out.append(
            f'<polygon points="{_hexagon(cell, project)}" fill="{colour}" '
            f'data-count="{count}"><title>{count}</title></polygon>'
        )
    out.append("</g>")

    out += _towns(project)

    out += _legend(classes, text, legend_y)
    out.append("</g></svg>")
    return "\n".join(out)


def _graticule(project: Projection, map_height: int) -> list[str]:
    """Every second degree of longitude and latitude, labelled at the map's edges."""
    out: list[str] = []
    min_lon, min_lat, max_lon, max_lat = SA_BBOX
    out.append('<g stroke="#d3dce4" stroke-width="0.5" fill="#6b7785">')
    for lon in range(18, 33, 2):
        x, _ = project(min_lat, lon)
        out.append(f'<line x1="{x:.1f}" y1="{MARGIN}" x2="{x:.1f}" y2="{map_height - MARGIN}"/>')
        out.append(
            f'<text x="{x:.1f}" y="{map_height - MARGIN + 14}" text-anchor="middle" '
            f'stroke="none">{lon}°E</text>'
        )
    for lat in range(-34, -22, 2):
        _, y = project(lat, min_lon)
        out.append(f'<line x1="{MARGIN}" y1="{y:.1f}" x2="{WIDTH - MARGIN}" y2="{y:.1f}"/>')
        out.append(
            f'<text x="{MARGIN - 3}" y="{y + 4:.1f}" text-anchor="end" '
            f'stroke="none">{-lat}°S</text>'
        )
    out.append("</g>")
    return out


def _towns(project: Projection) -> list[str]:
    """A dot for each major town; the name of each province's biggest."""
    out: list[str] = []
    towns = gazetteer.major_towns()
    biggest: dict[str, gazetteer.Town] = {}
    for town in towns:
        if town.population > getattr(biggest.get(town.province), "population", 0):
            biggest[town.province] = town
    out.append(f'<g id="towns" fill="{TOWN_COLOUR}">')
    for town in towns:
        x, y = project(town.lat, town.lon)
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.8"/>')
    for town in biggest.values():
        x, y = project(town.lat, town.lon)
        out.append(
            f'<text x="{x + 4:.1f}" y="{y - 3:.1f}" stroke="#ffffff" stroke-width="3" '
            f'paint-order="stroke">{escape(town.name)}</text>'
        )
    out.append("</g>")
    return out


def _legend(classes: list[CountClass], text: dict[str, str], legend_y: int) -> list[str]:
    """The count classes, the town dot and the note (the legend's group left open)."""
    out: list[str] = []
    out.append(f'<g id="legend" transform="translate({MARGIN},{legend_y})">')
    out.append(f'<text x="0" y="12" font-weight="bold">{escape(text["legend"])}</text>')
    for i, c in enumerate(classes):
        x = i * 110
        out.append(
            f'<rect x="{x}" y="20" width="14" height="14" fill="{c.colour}" '
            f'stroke="#4d4d4d" stroke-width="0.5"/>'
        )
        out.append(f'<text x="{x + 20}" y="32" data-min="{c.low}">{escape(c.label)}</text>')
    out.append(f'<circle cx="{4 * 110 + 7}" cy="27" r="3" fill="{TOWN_COLOUR}"/>')
    out.append(f'<text x="{4 * 110 + 16}" y="32">{escape(text["towns"])}</text>')
    for i, line in enumerate(text["note"].split("\n")):
        out.append(f'<text x="0" y="{54 + 15 * i}" fill="#444444">{escape(line)}</text>')
    return out
