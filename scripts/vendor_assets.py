"""Copy pinned front-end assets from node_modules and folium into reporter/static/vendor.

The copies are git-ignored; package-lock.json pins the npm ones (with integrity hashes).
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "reporter" / "static" / "vendor"
NODE = ROOT / "node_modules"

FILES = {
    "tweetnacl/nacl-fast.min.js": "nacl-fast.min.js",
    "leaflet/dist/leaflet.js": "leaflet/leaflet.js",
    "leaflet/dist/leaflet.css": "leaflet/leaflet.css",
    "leaflet/dist/images/marker-icon.png": "leaflet/images/marker-icon.png",
    "leaflet/dist/images/marker-icon-2x.png": "leaflet/images/marker-icon-2x.png",
    "leaflet/dist/images/marker-shadow.png": "leaflet/images/marker-shadow.png",
    "leaflet/dist/images/layers.png": "leaflet/images/layers.png",
    "leaflet.heat/dist/leaflet-heat.js": "leaflet-heat.js",
    "axe-core/axe.min.js": "axe.min.js",
}


def main() -> None:
    for src, dst in FILES.items():
        source = NODE / src
        target = VENDOR / dst
        if not source.exists():
            raise SystemExit(f"missing {source}: run npm ci")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copyfile(source, target)


if __name__ == "__main__":
    main()
