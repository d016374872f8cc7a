"""Public map views and the JSON API: aggregates only, every count at least k."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, render_template, request
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale
from flask_babel import gettext as _

from reporter.config import Settings
from reporter.domain.vocabulary import (
    CATEGORIES,
    PERPETRATORS,
    PROVINCE_LABELS,
    PROVINCES,
    category,
    perpetrator,
)
from reporter.maps import bp, query, release, render, svg
from reporter.maps.query import FilterInvalid, Filters, ResponseCache
from reporter.models import db
from reporter.web.security import csp_nonce

CACHE_SECONDS = 300
CACHE_KEY = "reporter.maps.cache"
MAX_MONTHS, MAX_QUARTERS, MAX_YEARS = 36, 12, 10


@bp.record_once
def _init(state: BlueprintSetupState) -> None:
    state.app.extensions[CACHE_KEY] = ResponseCache()
    state.app.cli.add_command(release.release_cli)


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


def _release() -> query.Released:
    """The current release (cutting the due one first, when its time has come)."""
    session = db.session()
    release.ensure_release(session, _settings())
    return query.released(session)


def _filters(rel: query.Released) -> Filters:
    return query.current_filters(query.parse_filters(request.args), rel)


def _cells(f: Filters, rel: query.Released) -> list[tuple[str, int]]:
    return query.cell_counts(db.session(), f, _settings(), rel, _cache())


def _release_json(rel: query.Released) -> dict[str, Any]:
    settings = _settings()
    current = rel.release
    return {
        "id": rel.id or None,
        "cut_at": current.cut_at.strftime("%Y-%m-%dT%H:%M:%SZ") if current else None,
        "through": current.through_month.strftime("%Y-%m") if current else None,
        "next_at": release.next_due(settings).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@bp.get("/api/v1/cells")
def api_cells() -> Response:
    """Hexagon cells of the current release for the filters (GeoJSON)."""
    rel = _release()
    try:
        f = _filters(rel)
    except FilterInvalid as exc:
        return _bad_request(exc)
    settings = _settings()

    def body() -> bytes:
        fc = render.cells_geojson(_cells(f, rel), f, settings)
        fc["release"] = _release_json(rel)
        return _dumps(fc)

    return _public(
        _json_body(
            query.cached(_cache(), rel, ("cells.json", f), body), mimetype="application/geo+json"
        )
    )


@bp.get("/api/v1/periods")
def api_periods() -> Response:
    """The released periods that the other endpoints accept, and when the next release is."""
    rel = _release()
    return _public(
        _json(
            {
                "release": _release_json(rel),
                "months": rel.months,
                "quarters": rel.quarters,
                "years": rel.years,
                "resolutions": list(query.RESOLUTIONS),
                "k": _settings().k_anonymity,
            }
        )
    )


def _summary_json(
    f: Filters, summary: query.Summary, settings: Settings, rel: query.Released
) -> dict[str, Any]:
    return {
        "k": settings.k_anonymity,
        "privacy_radius_m": settings.privacy_radius_m,
        "count_noise": False,
        "release": _release_json(rel),
        "filters": {key: value for key, value in f.public().items() if key != "res"},
        "by_province": [
            {"province": p, "name": PROVINCES[p], "count": n} for p, n in summary.by_province
        ],
        "by_category": [
            {
                "category": c,
                "label": str(category(c).label),
                "huridocs": category(c).huridocs,
                "count": n,
            }
            for c, n in summary.by_category
        ],
        "by_perpetrator": [
            {
                "perpetrator": p,
                "label": str(perpetrator(p).label),
                "huridocs": perpetrator(p).huridocs,
                "count": n,
            }
            for p, n in summary.by_perpetrator
        ],
        "by_month": [{"month": m.strftime("%Y-%m"), "count": n} for m, n in summary.by_month],
        "by_province_category": [
            {"province": p, "category": c, "count": n} for (p, c), n in summary.by_province_category
        ],
    }


@bp.get("/api/v1/summary")
def api_summary() -> Response:
    """Counts by province, category, perpetrator and month of the current release."""
    rel = _release()
    try:
        f = _filters(rel)
    except FilterInvalid as exc:
        return _bad_request(exc)
    settings = _settings()
    session = db.session()
    body = query.cached(
        _cache(),
        rel,
        ("summary.json", f.period, f.category, f.perpetrator, f.province, str(get_locale())),
        lambda: _dumps(
            _summary_json(f, query.summary(session, f, settings, rel, _cache()), settings, rel)
        ),
    )
    return _public(_json_body(body))


def _svg_text(settings: Settings) -> dict[str, str]:
    k = settings.k_anonymity
    km = round(settings.privacy_radius_m / 1000, 1)
    return {
        "title": _("Map of checked reports of abuse in South Africa"),
        "desc": _(
            "Coloured hexagons are areas with at least %(k)s reports for the chosen "
            "filters. Dots are major towns.",
            k=k,
        ),
        "legend": _("Reports per area"),
        "towns": _("Major towns"),
        "note": "\n".join(
            [
                _(
                    "Areas with fewer than %(k)s reports are not shown. Every place was moved by "
                    "about %(km)s km.",
                    k=k,
                    km=km,
                ),
                _("Small areas are drawn larger than they are, so that they can be seen."),
            ]
        ),
    }


@bp.get("/map.svg")
def map_image() -> Response:
    """The map as a server-drawn SVG image, for browsers without JavaScript."""
    rel = _release()
    try:
        f = _filters(rel)
    except FilterInvalid as exc:
        return _bad_request(exc)
    settings = _settings()
    body = svg.map_svg(_cells(f, rel), settings.k_anonymity, _svg_text(settings))
    return _public(current_app.response_class(body, mimetype="image/svg+xml"))


def _table(summary: query.Summary, f: Filters) -> dict[str, Any]:
    """The province x category table; missing entries (none, or fewer than k) look alike."""
    cross = dict(summary.by_province_category)
    rows = [
        {"label": term.label, "counts": [cross.get((p, term.value)) for p in PROVINCES]}
        for term in CATEGORIES
        if f.category in (None, term.value)
    ]
    by_province = dict(summary.by_province)
    return {
        "all": [by_province.get(p) for p in PROVINCES],
        "rows": rows,
        "perpetrators": [(perpetrator(p).label, n) for p, n in summary.by_perpetrator],
    }


@bp.get("/map")
def public_map() -> tuple[str, int]:
    """Public, aggregated, location-fuzzed map of verified incidents (the current release)."""
    settings = _settings()
    rel = _release()
    error = None
    try:
        f = _filters(rel)
    except FilterInvalid as exc:
        # the detail names the API's parameter, so it stays as the API says it
        error = _(
            "Some of these choices cannot be used, so all reports of the latest "
            "period are shown (%(detail)s).",
            detail=str(exc),
        )
        f = query.current_filters(Filters(), rel)
    session = db.session()
    cells = _cells(f, rel)
    summary = query.summary(session, f, settings, rel, _cache())
    fc = render.cells_geojson(cells, f, settings)
    labels = {
        "aria": _("Interactive map of reports per area"),
        "heat": _("Heat"),
        "cells": _("Areas (hexagons)"),
        "towns": _("Major towns"),
        "count": _("Reports"),
        "tiles": _("Base map"),
        "zoom_in": _("Zoom in"),
        "zoom_out": _("Zoom out"),
        "layers": _("Layers"),
        "leaflet": _("Leaflet, the program that draws this map"),
    }
    parts = render.build_map(fc, settings, csp_nonce(), labels)
    current = rel.release
    return render_template(
        "maps/map.html",
        parts=parts,
        f=f,
        error=error,
        cells=cells,
        classes=render.count_classes(settings.k_anonymity),
        table=_table(summary, f),
        provinces=PROVINCE_LABELS,
        categories=CATEGORIES,
        perpetrators=PERPETRATORS,
        periods=_period_choices(rel),
        svg_args=f.args(),
        api_args=f.args(),
        km=round(settings.privacy_radius_m / 1000, 1),
        svg_size=svg.size(),
        release=current,
        next_release=release.next_due(settings).strftime("%Y-%m-%d"),
        through=current.through_month.strftime("%Y-%m") if current else None,
    ), 400 if error else 200


def _period_choices(rel: query.Released) -> list[tuple[str, list[str]]]:
    """The periods offered in the form: released ones only (a fixed schedule, never derived
    from the data), the most recent first."""
    return [
        (_("Years"), rel.years[:MAX_YEARS]),
        (_("Quarters"), rel.quarters[:MAX_QUARTERS]),
        (_("Months"), rel.months[:MAX_MONTHS]),
    ]
