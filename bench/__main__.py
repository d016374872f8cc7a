"""Run every benchmark and print one JSON object as the last line."""

from __future__ import annotations

import json
import sys

from bench import pageweight
from bench.common import bench_app, bench_database


def main() -> None:
    figures: dict[str, object] = {}
    with bench_database() as url:
        app = bench_app(url)
        with app.app_context():
            figures.update(pageweight.run(app.test_client()))
        app.extensions["reporter.db"].engine.dispose()
    print(json.dumps(figures, sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
