"""Sisonke reports: anonymous, encrypted reporting of abuse against sex workers in South Africa.

The layers (docs/architecture.md): crypto and domain at the bottom (no Flask, no database),
then models, services, the request plumbing in web, and the blueprints (forms, gateway,
verify, alerts, maps, export) on top; reporter.app builds the app; ops holds the command line,
the demo, backups and the private database cluster. This file imports nothing, so that
`import reporter.crypto.envelope` loads neither Flask nor SQLAlchemy.
"""

__version__ = "0.1.0"
