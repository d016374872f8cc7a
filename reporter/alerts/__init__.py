"""Safety alerts (issue 16): vetted warnings about dangerous clients and others, for members
only, and "check a number" before a booking. Off by default (ALERTS_ENABLED) and until an admin
records the Information Regulator's prior authorisation (POPIA section 57(1)(b)).

Kept import-free: reporter.models.load_all imports reporter.models.alerts, so the blueprints live in
reporter/alerts/staff.py and reporter/alerts/member.py (docs/alerts.md).
"""
