"""map.png and report.pdf: the printable evidence map and the report around it.

The PNG is drawn with Pillow (at twice the size, then reduced, for smooth edges) on the public
SVG map's projection: longitude and latitude, the longitude scaled by cos 28.5 degrees. No
border or coastline data is available offline, so major towns and a graticule give the
bearings. The PDF (reportlab) carries the PNG, the legend and the tables as real text, so that
they can be searched, copied and read by a screen reader.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import h3
import reportlab
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Image as PdfImage,
)
from reportlab.platypus import (
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from reporter.domain import gazetteer, vocabulary
from reporter.domain.vocabulary import CATEGORIES, PROVINCES
from reporter.export.counts import Tables
from reporter.maps.fuzz import SA_BBOX
from reporter.maps.render import TOWN_COLOUR, CountClass, class_of, count_classes

WIDTH, HEIGHT = 1600, 1200
SS = 2  # supersampling factor
MAP_BOX = (30, 150, 1130, 1160)  # left, top, right, bottom
PANEL_X = 1160
LAT0 = math.radians(-28.5)
MIN_HEX_PX = 6.0  # hexagons smaller than this (radius) are drawn at this size
INK, MUTED, RULE = "#1a1a1a", "#555555", "#c8d0d8"


@dataclass(frozen=True)
class Sheet:
    """The words around the numbers, shared by the PNG, the PDF and map.html."""

    organisation: str
    title: str
    period: str
    filters: list[str]
    notes: list[str]
    created: str
    software: str


# Bitstream Vera, shipped inside reportlab (so nothing depends on the system's fonts); it has
# the en dash, the degree sign and the superscript two that the labels use.
FONTS = Path(reportlab.__file__).resolve().parent / "fonts"


@cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONTS / ("VeraBd.ttf" if bold else "Vera.ttf")
    if path.exists():
        return ImageFont.truetype(str(path), size * SS)
    return ImageFont.load_default(size=size * SS)


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            trial = f"{line} {word}".strip()
            if font.getlength(trial) <= width * SS or not line:
                line = trial
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


class _Canvas:
    def __init__(self) -> None:
        self.image = Image.new("RGB", (WIDTH * SS, HEIGHT * SS), "#ffffff")
        self.draw = ImageDraw.Draw(self.image)

    def text(
        self,
        xy: tuple[float, float],
        text: str,
        size: int,
        fill: str = INK,
        bold: bool = False,
        halo: bool = False,
    ) -> None:
        stroke_width, stroke_fill = (3 * SS, "#ffffff") if halo else (0, None)
        self.draw.text(
            (xy[0] * SS, xy[1] * SS),
            text,
            font=_font(size, bold),
            fill=fill,
            stroke_width=stroke_width,
            stroke_fill=stroke_fill,
        )

    def paragraph(
        self,
        x: float,
        y: float,
        text: str,
        size: int,
        width: int,
        fill: str = INK,
        bold: bool = False,
    ) -> float:
        """Wrapped text; returns the y below it."""
        for line in _wrap(text, _font(size, bold), width):
            self.text((x, y), line, size, fill, bold)
            y += size * 1.35
        return y


def _projector() -> tuple[float, float, float]:
    """(scale px per degree, x offset, y offset) fitting South Africa into MAP_BOX."""
    min_lon, min_lat, max_lon, max_lat = SA_BBOX
    left, top, right, bottom = MAP_BOX
    k = math.cos(LAT0)
    scale = min((right - left) / ((max_lon - min_lon) * k), (bottom - top) / (max_lat - min_lat))
    x0 = left + ((right - left) - (max_lon - min_lon) * k * scale) / 2
    y0 = top + ((bottom - top) - (max_lat - min_lat) * scale) / 2
    return scale, x0, y0


def project(lat: float, lon: float) -> tuple[float, float]:
    scale, x0, y0 = _projector()
    min_lon, _min_lat, _max_lon, max_lat = SA_BBOX
    return x0 + (lon - min_lon) * math.cos(LAT0) * scale, y0 + (max_lat - lat) * scale


def _hexagon(cell: str) -> list[tuple[float, float]]:
    cx, cy = project(*h3.cell_to_latlng(cell))
    pts = [project(lat, lon) for lat, lon in h3.cell_to_boundary(cell)]
    radius = max(math.hypot(x - cx, y - cy) for x, y in pts)
    grow = max(1.0, MIN_HEX_PX / radius) if radius else 1.0
    return [((cx + (x - cx) * grow) * SS, (cy + (y - cy) * grow) * SS) for x, y in pts]


def _graticule(c: _Canvas) -> None:
    left, top, right, bottom = MAP_BOX
    c.draw.rectangle(
        [left * SS, top * SS, right * SS, bottom * SS], fill="#eef3f7", outline="#b8c4ce", width=SS
    )
    min_lon, min_lat, max_lon, max_lat = SA_BBOX
    for lon in range(18, 33, 2):
        x, _y = project(min_lat, lon)
        c.draw.line([x * SS, top * SS, x * SS, bottom * SS], fill="#d3dce4", width=SS)
        c.text((x - 14, bottom - 22), f"{lon}°E", 13, MUTED)
    for lat in range(-34, -21, 2):
        _x, y = project(lat, min_lon)
        c.draw.line([left * SS, y * SS, right * SS, y * SS], fill="#d3dce4", width=SS)
        c.text((left + 4, y - 18), f"{-lat}°S", 13, MUTED)


def _town_dots(c: _Canvas) -> None:
    for town in gazetteer.major_towns():
        x, y = project(town.lat, town.lon)
        c.draw.ellipse(
            [(x - 3.5) * SS, (y - 3.5) * SS, (x + 3.5) * SS, (y + 3.5) * SS],
            fill=TOWN_COLOUR,
            outline="#ffffff",
            width=SS,
        )


def _town_labels(c: _Canvas) -> None:
    """Largest towns first; a label that would overlap one already placed is left out."""
    taken: list[tuple[float, float, float, float]] = []
    font = _font(15)
    for town in sorted(gazetteer.major_towns(), key=lambda t: -t.population):
        x, y = project(town.lat, town.lon)
        w = font.getlength(town.name) / SS
        box = (x + 6, y - 10, x + 10 + w, y + 9)
        inside = box[2] < MAP_BOX[2] - 4 and box[1] > MAP_BOX[1] + 2
        if inside and not any(
            box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in taken
        ):
            c.text((x + 7, y - 10), town.name, 15, TOWN_COLOUR, halo=True)
            c.text((x + 7, y - 10), town.name, 15, TOWN_COLOUR)
            taken.append(box)


def _draw_map(c: _Canvas, t: Tables, sheet: Sheet, classes: list[CountClass]) -> None:
    """The heading, the graticule, the towns and the hexagons (or a note that none is shown)."""
    c.text((40, 18), sheet.organisation, 40, INK, bold=True)
    c.text((40, 72), sheet.title, 24, INK)
    c.text((40, 108), f"Period: {sheet.period}", 18, MUTED)
    c.draw.line([30 * SS, 138 * SS, (WIDTH - 30) * SS, 138 * SS], fill=RULE, width=SS)
    _graticule(c)
    _town_dots(c)
    for cell, count in sorted(t.cells, key=lambda r: r[1]):
        c.draw.polygon(
            _hexagon(cell), fill=class_of(count, classes).colour, outline="#4d4d4d", width=SS
        )
    _town_labels(c)
    if not t.cells:
        left, top, right, bottom = MAP_BOX
        c.text(
            ((left + right) / 2 - 260, (top + bottom) / 2),
            f"No area has {t.k} or more incidents for these filters.",
            20,
            MUTED,
        )


def _draw_panel(c: _Canvas, t: Tables, sheet: Sheet, classes: list[CountClass]) -> None:
    """The panel beside the map: the legend, what is shown, the notes and the filters."""
    x, width = PANEL_X, WIDTH - PANEL_X - 30
    y: float = 160
    c.text((x, y), "Incidents per area", 20, INK, bold=True)
    y += 36
    for cls in classes:
        c.draw.rectangle(
            [x * SS, y * SS, (x + 26) * SS, (y + 20) * SS],
            fill=cls.colour,
            outline="#4d4d4d",
            width=SS,
        )
        c.text((x + 36, y), cls.label, 18)
        y += 30
    c.draw.ellipse([(x + 9) * SS, (y + 6) * SS, (x + 17) * SS, (y + 14) * SS], fill=TOWN_COLOUR)
    c.text((x + 36, y), "Major town", 18)
    y += 44
    y = (
        c.paragraph(
            x,
            y,
            f"Shown on this map: {t.shown_on_map:,} incidents in {len(t.cells):,} areas.",
            18,
            width,
            bold=True,
        )
        + 10
    )
    for note in sheet.notes:
        y = c.paragraph(x, y, note, 16, width, MUTED) + 8
    y += 8
    c.text((x, y), "Filters", 18, INK, bold=True)
    y += 28
    for line in sheet.filters:
        y = c.paragraph(x, y, line, 16, width) + 4


def map_png(t: Tables, sheet: Sheet) -> bytes:
    """The evidence map, WIDTH x HEIGHT pixels."""
    c = _Canvas()
    classes = count_classes(t.k)
    _draw_map(c, t, sheet, classes)
    _draw_panel(c, t, sheet, classes)
    c.draw.line([30 * SS, 1168 * SS, (WIDTH - 30) * SS, 1168 * SS], fill=RULE, width=SS)
    c.text(
        (40, 1174),
        f"{sheet.organisation} · created {sheet.created} · {sheet.software} · "
        "the bundle's manifest.json is signed: check it before relying on it",
        14,
        MUTED,
    )
    out = io.BytesIO()
    c.image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS).save(out, "PNG", optimize=True)
    return out.getvalue()


# ---- the PDF ---------------------------------------------------------------------------------


def _label(value: str) -> str:
    return str(vocabulary.term(value).label)


def _code(value: str) -> str:
    return vocabulary.term(value).huridocs


def _grid(rows: Sequence[list[Any]], widths: list[float], numeric_from: int) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
                ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f4f7")]),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def _legend(k: int) -> Table:
    """The map's legend: a swatch for each count class and for the town dots."""
    classes = count_classes(k)
    legend_rows: list[list[object]] = [["", "Incidents per area (hexagon)"]]
    legend_rows += [["", c.label] for c in classes]
    legend_rows.append(["", "Major town"])
    legend = Table(legend_rows, colWidths=[0.6 * cm, 6.2 * cm])
    legend_style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 9),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
    ]
    legend_style += [
        ("BACKGROUND", (0, i + 1), (0, i + 1), colors.HexColor(c.colour))
        for i, c in enumerate(classes)
    ]
    legend_style.append(
        ("BACKGROUND", (0, len(classes) + 1), (0, len(classes) + 1), colors.HexColor(TOWN_COLOUR))
    )
    legend.setStyle(TableStyle(legend_style))
    return legend


def _document(out: io.BytesIO, sheet: Sheet) -> SimpleDocTemplate:
    """The landscape A4 document, its metadata from the sheet."""
    return SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=1.5 * cm,
        rightMargin=1.5 * cm,
        topMargin=1.2 * cm,
        bottomMargin=1.5 * cm,
        title=f"{sheet.organisation}: {sheet.title}",
        author=sheet.organisation,
        subject=f"Period {sheet.period}",
        creator=sheet.software,
    )


def _map_page(
    t: Tables, sheet: Sheet, png: bytes, body: ParagraphStyle, small: ParagraphStyle
) -> Table:
    """The first page's body: the map, and beside it the legend, what is shown, the notes and
    the filters."""
    side: list[Flowable] = [
        Paragraph("<b>Legend</b>", body),
        _legend(t.k),
        Spacer(1, 6),
        Paragraph(
            f"<b>Shown on the map:</b> {t.shown_on_map:,} incidents in {len(t.cells):,} areas.",
            body,
        ),
    ]
    side += [Paragraph(_esc(n), small) for n in sheet.notes]
    side.append(Spacer(1, 4))
    side.append(Paragraph("<b>Filters</b>", body))
    side += [Paragraph(_esc(line), small) for line in sheet.filters]
    img = PdfImage(io.BytesIO(png), width=18.6 * cm, height=18.6 * cm * HEIGHT / WIDTH)
    page1 = Table([[img, side]], colWidths=[19 * cm, 7.6 * cm])
    page1.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return page1


def _table_pages(
    t: Tables, categories: tuple[str, ...], styles: Any, small: ParagraphStyle
) -> list[Flowable]:
    """The pages after the map: province x category, then by month and by perpetrator."""
    return [
        Paragraph("Incidents by province and category", styles["Heading2"]),
        Paragraph(
            f"A blank cell means fewer than {t.k} incidents or none: the two are not told "
            "apart, so that no small number can point to a person. An incident with "
            "several categories is counted once in each, so rows do not add up to the "
            "first row.",
            small,
        ),
        Spacer(1, 4),
        _province_category(t, categories),
        PageBreak(),
        Paragraph("Incidents by month", styles["Heading2"]),
        _grid(
            [["Month", "Incidents"], *[[m.strftime("%Y-%m"), f"{n:,}"] for m, n in t.by_month]]
            or [["Month", "Incidents"]],
            [4 * cm, 3 * cm],
            1,
        ),
        Spacer(1, 10),
        Paragraph("Incidents by type of perpetrator", styles["Heading2"]),
        _grid(
            [
                ["Perpetrator", "HURIDOCS", "Incidents"],
                *[[_label(p), _code(p), f"{n:,}"] for p, n in t.by_perpetrator],
            ],
            [7 * cm, 2.5 * cm, 3 * cm],
            2,
        ),
    ]


def report_pdf(t: Tables, sheet: Sheet, png: bytes, categories: tuple[str, ...] = ()) -> bytes:
    """The report: the map with its legend, then the tables; every word is real text."""
    styles = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=styles["BodyText"], fontSize=8.5, leading=11)
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=9.5, leading=12.5)
    out = io.BytesIO()

    def footer(canvas: Canvas, doc: object) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.drawString(
            1.5 * cm,
            0.9 * cm,
            f"{sheet.organisation} · {sheet.title} · "
            f"created {sheet.created} · {sheet.software} · page "
            f"{canvas.getPageNumber()}",
        )
        canvas.restoreState()

    doc = _document(out, sheet)
    page1 = _map_page(t, sheet, png, body, small)
    story: list[Flowable] = [
        Paragraph(f"{_esc(sheet.organisation)}: {_esc(sheet.title)}", styles["Title"]),
        Paragraph(f"Period: {_esc(sheet.period)}", body),
        Spacer(1, 4),
        page1,
        PageBreak(),
        *_table_pages(t, categories, styles, small),
    ]
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _province_category(t: Tables, selected: tuple[str, ...]) -> Table:
    cross = dict(t.by_province_category)
    by_province = dict(t.by_province)
    header: list[object] = ["Category", "HURIDOCS", *PROVINCES]
    rows: list[list[object]] = [
        header,
        ["All categories", "", *[_n(by_province.get(p)) for p in PROVINCES]],
    ]
    for term in CATEGORIES:
        if not selected or term.value in selected:
            rows.append(
                [
                    str(term.label),
                    term.huridocs,
                    *[_n(cross.get((p, term.value))) for p in PROVINCES],
                ]
            )
    return _grid(rows, [8.2 * cm, 2 * cm, *[1.6 * cm] * len(PROVINCES)], 2)


def _n(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def created_text(now: dt.datetime) -> str:
    return now.strftime("%Y-%m-%d %H:%M UTC")
