"""Export views (staff) and the public bundle checker."""

from __future__ import annotations

from reporter.export import bp  # noqa: F401
