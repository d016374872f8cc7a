"""Public map views and the JSON API: aggregates only, every count at least k."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Response, current_app, render_template, request
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale
from flask_babel import gettext as _

from reporter import db
from reporter.config import Settings
from reporter.maps import bp, query, render, svg
from reporter.maps.query import FilterInvalid, Filters, ResponseCache
from reporter.security import csp_nonce
from reporter.vocabulary import (
    CATEGORIES,
    PERPETRATORS,
    PROVINCE_LABELS,
    PROVINCES,
    category,
    perpetrator,
)

CACHE_SECONDS = 300
CACHE_KEY = "reporter.maps.cache"
MONTHS_OFFERED = 36


@bp.record_once
def _init(state: BlueprintSetupState) -> None:
    state.app.extensions[CACHE_KEY] = ResponseCache()


def _settings() -> Settings:
    return current_app.extensions["reporter.settings"]


def _cache() -> ResponseCache:
    return current_app.extensions[CACHE_KEY]


def _public(resp: Response) -> Response:
    """Aggregates are the same for everyone: let browsers and proxies keep them a while."""
    resp.cache_control.public = True
    resp.cache_control.max_age = CACHE_SECONDS
    return resp


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _json_body(body: bytes, status: int = 200, mimetype: str = "application/json") -> Response:
    return current_app.response_class(body, status=status, mimetype=mimetype)


def _json(data: Any, status: int = 200, mimetype: str = "application/json") -> Response:
    return _json_body(_dumps(data), status, mimetype)


def _bad_request(exc: FilterInvalid) -> Response:
    return _json({"error": str(exc)}, status=400)


def _cells(f: Filters) -> list[tuple[str, int]]:
    return query.cell_counts(db.session(), f, _settings(), _cache())


@bp.get("/api/v1/cells")
def api_cells() -> Response:
    """Hexagon cells with at least k incidents for the filters (GeoJSON)."""
    try:
        f = query.parse_filters(request.args)
    except FilterInvalid as exc:
        return _bad_request(exc)
    settings = _settings()
    body = query.cached(
        db.session(), _cache(), ("cells.json", f, settings.k_anonymity,
                                 settings.count_noise_epsilon),
        lambda: _dumps(render.cells_geojson(_cells(f), f, settings)))
    return _public(_json_body(body, mimetype="application/geo+json"))


def _summary_json(f: Filters, summary: query.Summary, settings: Settings) -> dict[str, Any]:
    return {
        "k": settings.k_anonymity,
        "privacy_radius_m": settings.privacy_radius_m,
        "count_noise": bool(settings.count_noise_epsilon),
        "filters": {key: value for key, value in f.public().items() if key != "res"},
        "by_province": [{"province": p, "name": PROVINCES[p], "count": n}
                        for p, n in summary.by_province],
        "by_category": [{"category": c, "label": str(category(c).label),
                         "huridocs": category(c).huridocs, "count": n}
                        for c, n in summary.by_category],
        "by_perpetrator": [{"perpetrator": p, "label": str(perpetrator(p).label),
                            "huridocs": perpetrator(p).huridocs, "count": n}
                           for p, n in summary.by_perpetrator],
        "by_month": [{"month": m.strftime("%Y-%m"), "count": n} for m, n in summary.by_month],
        "by_province_category": [{"province": p, "category": c, "count": n}
                                 for (p, c), n in summary.by_province_category],
    }


@bp.get("/api/v1/summary")
def api_summary() -> Response:
    """Counts by province, category, perpetrator and month; each entry at least k."""
    try:
        f = query.parse_filters(request.args)
    except FilterInvalid as exc:
        return _bad_request(exc)
    settings = _settings()
    session = db.session()
    body = query.cached(
        session, _cache(), ("summary.json", f.month_from, f.month_to, f.category,
                            f.perpetrator, f.province, settings.k_anonymity,
                            settings.count_noise_epsilon, str(get_locale())),
        lambda: _dumps(_summary_json(f, query.summary(session, f, settings, _cache()),
                                     settings)))
    return _public(_json_body(body))


def _svg_text(settings: Settings) -> dict[str, str]:
    k = settings.k_anonymity
    km = round(settings.privacy_radius_m / 1000, 1)
    return {
        "title": _("Map of checked reports of abuse in South Africa"),
        "desc": _("Coloured hexagons are areas with at least %(k)s reports for the chosen "
                  "filters. Dots are major towns.", k=k),
        "legend": _("Reports per area"),
        "towns": _("Major towns"),
        "note": "\n".join([
            _("Areas with fewer than %(k)s reports are not shown. Every place was moved by "
              "about %(km)s km.", k=k, km=km),
            _("Small areas are drawn larger than they are, so that they can be seen.")]),
    }


@bp.get("/map.svg")
def map_image() -> Response:
    """The map as a server-drawn SVG image, for browsers without JavaScript."""
    try:
        f = query.parse_filters(request.args)
    except FilterInvalid as exc:
        return _bad_request(exc)
    settings = _settings()
    body = svg.map_svg(_cells(f), settings.k_anonymity, _svg_text(settings))
    return _public(current_app.response_class(body, mimetype="image/svg+xml"))


def _months(today: dt.date) -> list[str]:
    """The months offered in the form: a fixed window, never derived from the data (the first
    month with data would tell that some incident happened then)."""
    out, year, month = [], today.year, today.month
    for _i in range(MONTHS_OFFERED):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def _table(summary: query.Summary, f: Filters) -> dict[str, Any]:
    """The province x category table; missing entries (none, or fewer than k) look alike."""
    cross = dict(summary.by_province_category)
    rows = [
        {"label": term.label, "counts": [cross.get((p, term.value)) for p in PROVINCES]}
        for term in CATEGORIES if f.category in (None, term.value)
    ]
    by_province = dict(summary.by_province)
    return {
        "all": [by_province.get(p) for p in PROVINCES],
        "rows": rows,
        "perpetrators": [(perpetrator(p).label, n) for p, n in summary.by_perpetrator],
    }


@bp.get("/map")
def public_map() -> tuple[str, int]:
    """Public, aggregated, location-fuzzed map of verified incidents."""
    settings = _settings()
    error = None
    try:
        f = query.parse_filters(request.args)
    except FilterInvalid as exc:
        # the detail names the API's parameter, so it stays as the API says it
        error = _("Some of these choices cannot be used, so all reports are shown "
                  "(%(detail)s).", detail=str(exc))
        f = Filters()
    session = db.session()
    cells = _cells(f)
    summary = query.summary(session, f, settings, _cache())
    fc = render.cells_geojson(cells, f, settings)
    labels = {
        "aria": _("Interactive map of reports per area"),
        "heat": _("Heat"), "cells": _("Areas (hexagons)"), "towns": _("Major towns"),
        "count": _("Reports"), "tiles": _("Base map"),
        "zoom_in": _("Zoom in"), "zoom_out": _("Zoom out"),
    }
    parts = render.build_map(fc, settings, csp_nonce(), labels)
    return render_template(
        "maps/map.html",
        parts=parts, f=f, error=error, cells=cells,
        classes=render.count_classes(settings.k_anonymity),
        table=_table(summary, f), provinces=PROVINCE_LABELS, categories=CATEGORIES,
        perpetrators=PERPETRATORS, months=_months(dt.date.today()),
        svg_args=f.args(), api_args=f.args(),
        km=round(settings.privacy_radius_m / 1000, 1), svg_size=svg.size(),
    ), 400 if error else 200
