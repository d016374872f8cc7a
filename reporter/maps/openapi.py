"""OpenAPI 3.1 description of the public JSON endpoints, served at /api/v1/openapi.json.

Only what anyone may read without an account: the public keys browsers seal reports to, the
offline gazetteer, and the k-suppressed aggregates. Nothing here touches a report. The
vocabularies (categories, perpetrators, provinces) come from the same modules the endpoints
validate against, so the description cannot drift from what they accept; tests/test_openapi.py
runs schemathesis against it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, json

from reporter import __version__
from reporter.domain.vocabulary import CATEGORY_VALUES, PERPETRATOR_VALUES, PROVINCES
from reporter.maps.query import DEFAULT_RES, RESOLUTIONS

bp = Blueprint("openapi", __name__)

MONTH = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"
B64_32 = r"^[A-Za-z0-9+/]{43}=$"
KID = r"^[0-9a-f]{16}$"
B64_32_LINE = r"^[A-Za-z0-9+/]{43}=\s*$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


# An empty filter means "any" (the map's no-JavaScript form sends empty selects).
ANY = "an empty value means any."


def _filters(with_res: bool) -> list[dict[str, Any]]:
    def enum(name: str, values: list[str], text: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "description": f"{text} {ANY}",
            "schema": {"type": "string", "enum": ["", *values]},
        }

    period = {"type": "string", "pattern": r"^$|^[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$"}
    params = [
        {
            "name": "period",
            "in": "query",
            "required": False,
            "description": "A released month (YYYY-MM), quarter (YYYY-Q1..Q4) or year (YYYY), as "
            "listed by /api/v1/periods; empty: the latest released quarter. "
            "Ranges (`from`, `to`) are refused with 400.",
            "schema": period,
        },
        enum(
            "category",
            sorted(CATEGORY_VALUES),
            "What happened (controlled vocabulary); not together with `perpetrator`.",
        ),
        enum(
            "perpetrator",
            sorted(PERPETRATOR_VALUES),
            "Who did it (controlled vocabulary); not together with `category`.",
        ),
        enum("province", list(PROVINCES), "ISO 3166-2:ZA province code."),
    ]
    if with_res:
        params.append(
            {
                "name": "res",
                "in": "query",
                "required": False,
                "description": "H3 resolution of the hexagon cells.",
                "schema": {"type": "integer", "enum": list(RESOLUTIONS), "default": DEFAULT_RES},
            }
        )
    return params


def _error_schema() -> dict[str, Any]:
    """The body of every error answer."""
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "minLength": 1},
            "advice": {"type": "string"},
        },
    }


def _key_schemas() -> dict[str, Any]:
    """PublicKey and Keyring: the published public keys (national, recovery, per province)."""
    public_key = {
        "type": "object",
        "required": ["kid", "pk"],
        "additionalProperties": False,
        "properties": {
            "kid": {"type": "string", "pattern": KID},
            "pk": {"type": "string", "pattern": B64_32},
        },
    }
    ring = {
        "v": {"const": 1},
        "national": _ref("PublicKey"),
        "recovery": _ref("PublicKey"),
        "provinces": {
            "type": "object",
            "required": list(PROVINCES),
            "additionalProperties": False,
            "properties": {p: _ref("PublicKey") for p in PROVINCES},
        },
    }
    return {
        "PublicKey": public_key,
        "Keyring": {"type": "object", "required": list(ring), "properties": ring},
    }


def _town_schema() -> dict[str, Any]:
    """A major town of the gazetteer."""
    return {
        "type": "object",
        "required": ["id", "name", "lat", "lon"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "lat": {"type": "number", "minimum": -35, "maximum": -22},
            "lon": {"type": "number", "minimum": 16, "maximum": 33},
        },
    }


def _filters_schema(nullable: dict[str, Any]) -> dict[str, Any]:
    """The filters as echoed in API answers."""
    return {
        "type": "object",
        "properties": {
            "period": nullable,
            "category": nullable,
            "perpetrator": nullable,
            "province": nullable,
            "res": {"type": "integer", "enum": list(RESOLUTIONS)},
        },
        "required": ["period", "category", "perpetrator", "province"],
    }


def _release_schemas(nullable: dict[str, Any]) -> dict[str, Any]:
    """Release and Periods: the current release and the periods it shows."""
    return {
        "Release": {
            "type": "object",
            "required": ["id", "cut_at", "through", "next_at"],
            "properties": {
                "id": {"type": ["integer", "null"]},
                "cut_at": nullable,
                "through": nullable,
                "next_at": {"type": "string"},
            },
        },
        "Periods": {
            "type": "object",
            "required": ["release", "months", "quarters", "years", "resolutions", "k"],
            "properties": {
                "release": _ref("Release"),
                "months": {"type": "array", "items": {"type": "string"}},
                "quarters": {"type": "array", "items": {"type": "string"}},
                "years": {"type": "array", "items": {"type": "string"}},
                "resolutions": {"type": "array", "items": {"type": "integer"}},
                "k": {"type": "integer"},
            },
        },
    }


def _components() -> dict[str, Any]:
    nullable = {"type": ["string", "null"]}
    count = {"type": "integer", "minimum": 0}
    aggregate = {
        "k": {"type": "integer", "minimum": 2},
        "privacy_radius_m": {"type": "number", "exclusiveMinimum": 0},
        "count_noise": {"type": "boolean"},
        "release": _ref("Release"),
    }
    return {
        "Error": _error_schema(),
        **_key_schemas(),
        "Town": _town_schema(),
        "Filters": _filters_schema(nullable),
        **_release_schemas(nullable),
        "CellCollection": _cell_collection(aggregate, count),
        "Summary": _summary(aggregate, count),
    }


def _cell_collection(aggregate: dict[str, Any], count: dict[str, Any]) -> dict[str, Any]:
    """The GeoJSON answer of /api/v1/cells."""
    return {
        "type": "object",
        "required": [
            "type",
            "k",
            "privacy_radius_m",
            "count_noise",
            "resolution",
            "filters",
            "features",
        ],
        "properties": {
            "type": {"const": "FeatureCollection"},
            **aggregate,
            "resolution": {"type": "integer", "enum": list(RESOLUTIONS)},
            "filters": _ref("Filters"),
            "features": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "id", "properties", "geometry"],
                    "properties": {
                        "type": {"const": "Feature"},
                        "id": {"type": "string"},
                        "properties": {
                            "type": "object",
                            "required": ["cell", "resolution", "count"],
                            "properties": {
                                "cell": {"type": "string"},
                                "resolution": {"type": "integer"},
                                "count": count,
                            },
                        },
                        "geometry": {
                            "type": "object",
                            "required": ["type", "coordinates"],
                            "properties": {
                                "type": {"const": "Polygon"},
                                "coordinates": {"type": "array"},
                            },
                        },
                    },
                },
            },
        },
    }


def _summary(aggregate: dict[str, Any], count: dict[str, Any]) -> dict[str, Any]:
    """The answer of /api/v1/summary: rows of counts by one or two attributes."""

    def rows(key: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        props = {key: {"type": "string"}, **(extra or {}), "count": count}
        return {
            "type": "array",
            "items": {"type": "object", "required": list(props), "properties": props},
        }

    term = {"label": {"type": "string"}, "huridocs": {"type": "string"}}
    return {
        "type": "object",
        "required": [
            *aggregate,
            "filters",
            "by_province",
            "by_category",
            "by_perpetrator",
            "by_month",
            "by_province_category",
        ],
        "properties": {
            **aggregate,
            "filters": _ref("Filters"),
            "by_province": rows("province", {"name": {"type": "string"}}),
            "by_category": rows("category", term),
            "by_perpetrator": rows("perpetrator", term),
            "by_month": rows("month"),
            "by_province_category": rows("province", {"category": {"type": "string"}}),
        },
    }


def document() -> dict[str, Any]:
    """The OpenAPI document (a plain dict)."""
    unavailable = _error("The database cannot answer right now; try again in a few minutes.")
    bad = _error("A parameter is not valid; the message names it (never echoing the value).")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sisonke reports: public API",
            "version": __version__,
            "summary": "Public keys and k-anonymous, location-fuzzed aggregates. No report, "
            "receipt or person is reachable through this API.",
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        "paths": {**_key_paths(unavailable), **_api_paths(bad, unavailable)},
        "components": {"schemas": _components()},
    }


def _key_paths(unavailable: dict[str, Any]) -> dict[str, Any]:
    """The public keys: the case keys' and recovery key's, and the signing key."""
    return {
        "/keys.json": {
            "get": {
                "operationId": "publicKeys",
                "summary": "Public halves of the case keys and the recovery key",
                "description": "Browsers seal every report to the national key, the province's "
                "key and the recovery key.",
                "responses": {
                    "200": {
                        "description": "The active public keys.",
                        "content": {"application/json": {"schema": _ref("Keyring")}},
                    },
                    "503": unavailable,
                },
            }
        },
        "/.well-known/reporter-signing-key": {
            "get": {
                "operationId": "signingKey",
                "summary": "The organisation's Ed25519 public key, which signs export bundles",
                "responses": {
                    "200": {
                        "description": "Base64 of the 32-byte public key.",
                        "content": {
                            "text/plain": {"schema": {"type": "string", "pattern": B64_32_LINE}}
                        },
                    },
                    "404": {
                        "description": "No signing key has been made yet.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                },
            }
        },
    }


def _api_paths(bad: dict[str, Any], unavailable: dict[str, Any]) -> dict[str, Any]:
    """The aggregates, the towns and this description."""
    return {
        "/api/v1/towns": {
            "get": {
                "operationId": "towns",
                "summary": "Towns of one province (offline gazetteer)",
                "parameters": [
                    {
                        "name": "province",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "enum": list(PROVINCES)},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "Towns, sorted by name.",
                        "content": {
                            "application/json": {"schema": {"type": "array", "items": _ref("Town")}}
                        },
                    },
                    "400": bad,
                },
            }
        },
        **_aggregate_paths(bad, unavailable),
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This description",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def _aggregate_paths(bad: dict[str, Any], unavailable: dict[str, Any]) -> dict[str, Any]:
    """The k-anonymous aggregates: the cells, the released periods and the summary."""
    return {
        "/api/v1/cells": {
            "get": {
                "operationId": "cells",
                "summary": "Hexagon cells of the current release (GeoJSON polygons only)",
                "parameters": _filters(with_res=True),
                "responses": {
                    "200": {
                        "description": "Cells; fewer than k are left out.",
                        "content": {"application/geo+json": {"schema": _ref("CellCollection")}},
                    },
                    "400": bad,
                    "503": unavailable,
                },
            }
        },
        "/api/v1/periods": {
            "get": {
                "operationId": "periods",
                "summary": "The released periods, and when the next release is due",
                "description": "Public counts change only at scheduled releases; a period once "
                "released never changes (docs/maps.md).",
                "responses": {
                    "200": {
                        "description": "Released months, quarters and years, newest first.",
                        "content": {"application/json": {"schema": _ref("Periods")}},
                    },
                    "503": unavailable,
                },
            }
        },
        "/api/v1/summary": {
            "get": {
                "operationId": "summary",
                "summary": "Counts by province, category, perpetrator and month",
                "parameters": _filters(with_res=True),
                "responses": {
                    "200": {
                        "description": "Every count is at least k.",
                        "content": {"application/json": {"schema": _ref("Summary")}},
                    },
                    "400": bad,
                    "503": unavailable,
                },
            }
        },
    }


@bp.get("/api/v1/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI 3.1 description of the public JSON endpoints."""
    resp = current_app.response_class(
        json.dumps(document(), indent=1, sort_keys=False), mimetype="application/json"
    )
    resp.cache_control.public = True
    resp.cache_control.max_age = 3600
    return resp
