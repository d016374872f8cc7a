"""Run every benchmark and print one JSON object as the last line."""

from __future__ import annotations

import json
import sys

from bench import aggregate, export, load, pageweight, submit
from bench.common import bench_app, bench_database


def main() -> None:
    figures: dict[str, object] = {}
    with bench_database() as url:
        app = bench_app(url, **pageweight.APP_SETTINGS)  # every complete language
        with app.app_context():
            figures.update(pageweight.run(app.test_client()))
        app.extensions["reporter.db"].engine.dispose()
        # the public aggregates at BENCH_INCIDENTS (default 1,000,000) against naive PostGIS
        figures.update(aggregate.run(url))
        # the casework CSV of the same incidents against COPY ... TO STDOUT (docs/exports.md)
        figures.update(export.run(url))
    # one accepted no-JS submission through gunicorn / its unavoidable work (issue 3)
    figures.update(submit.run())
    # the load run with a PostgreSQL and then a Redis restart (issue 7; BENCH_LOAD_SECONDS)
    figures.update(load.run())
    print(json.dumps(figures, sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
