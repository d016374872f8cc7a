#!/usr/bin/env bash
# One set-up for `make demo` and `make test`: venv, project, front-end assets, PostGIS,
# (for tests) Debian's Chromium, then migrations. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."
WANT_BROWSER="${1:-}"
PY="${PYTHON:-python3}"

need_root_pkg() {  # $1 = package, $2 = why
  if [ "$(id -u)" = "0" ]; then
    if [ ! -f .venv/.apt-updated ] && [ ! -f /tmp/.reporter-apt-updated ]; then
      apt-get update -qq && touch /tmp/.reporter-apt-updated
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  else
    echo "Missing $2. Install it with:  sudo apt-get install -y $1" >&2
    exit 1
  fi
}

# 1. Python environment and the project
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
  rm -f .venv/.installed-* && touch "$stamp"
fi

# 1b. Compiled message catalogs (git-ignored .mo files), rebuilt from the .po files on every
#     set-up so that a page never shows a stale translation (docs/translations.md)
.venv/bin/pybabel --quiet compile -d reporter/translations

# 2. Front-end assets: pinned by package-lock.json, copied under reporter/static/vendor, then
#    every css/js/json/svg/html file under reporter/static precompressed (.gz, .br; git-ignored)
#    for the app and nginx to send as they are. Nothing is ever loaded from a third-party host.
if ! command -v npm >/dev/null; then need_root_pkg npm "Node.js and npm"; fi
lockstamp=node_modules/.lock-$(sha256sum package-lock.json | cut -c1-16)
if [ ! -f "$lockstamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch "$lockstamp"
fi
# 2b. ESLint for `make lint-js` (a devDependency, pinned by the same package-lock.json): a
#     node_modules installed before it was added, or pruned of dev packages, gets it here
if [ ! -x node_modules/.bin/eslint ]; then
  if command -v npm >/dev/null; then
    npm ci --no-audit --no-fund --loglevel=error
    touch "$lockstamp"
  else
    echo "npm is missing, so ESLint is not installed and \`make lint-js\` cannot run: install Node.js and npm" >&2
  fi
fi
.venv/bin/python scripts/vendor_assets.py

# 3. PostGIS for the system's PostgreSQL (the private cluster uses the same binaries)
pgmajor=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n1 || true)
if [ -z "$pgmajor" ]; then need_root_pkg postgresql "the PostgreSQL server"; pgmajor=$(ls /usr/lib/postgresql | sort -n | tail -n1); fi
if [ ! -f "/usr/share/postgresql/$pgmajor/extension/postgis.control" ]; then
  need_root_pkg "postgresql-$pgmajor-postgis-3" "PostGIS for PostgreSQL $pgmajor"
fi

# 4. For the tests: Debian's Chromium (never a downloaded browser) and redis-server (the load
#    and scale-out tests start their own on a free port)
if [ "$WANT_BROWSER" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  need_root_pkg chromium "Chromium for the browser tests"
fi
if [ "$WANT_BROWSER" = "--browser" ] && ! command -v redis-server >/dev/null; then
  need_root_pkg redis-server "redis-server for the load tests"
fi
# nginx (with brotli_static) and tor run the shipped deploy/ files in tests/test_deploy.py
if [ "$WANT_BROWSER" = "--browser" ] && [ ! -x /usr/sbin/nginx ]; then
  need_root_pkg nginx "nginx for the deployment tests"
fi
if [ "$WANT_BROWSER" = "--browser" ] && [ ! -f /usr/lib/nginx/modules/ngx_http_brotli_static_module.so ]; then
  need_root_pkg libnginx-mod-http-brotli-static "nginx's brotli_static module for the deployment tests"
fi
if [ "$WANT_BROWSER" = "--browser" ] && ! command -v tor >/dev/null; then
  need_root_pkg tor "tor for the deployment tests (tor --verify-config only; it is never started)"
fi
