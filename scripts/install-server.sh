#!/usr/bin/env bash
# The scriptable part of docs/operations.md ("From a fresh Debian server to onion + HTTPS"):
# Debian packages, the service user and folders, nginx (our nginx.conf, the site, the shared
# snippet; Debian's default site removed), the Tor onion service, the systemd units, the tmpfs
# folder for nginx, /etc/reporter/env with a fresh SECRET_KEY, a self-signed certificate until
# Let's Encrypt's is linked in, and nginx's own error pages rendered from the app's template.
#
# Idempotent: run it again after a `git pull` and it changes only what changed (and never a
# secret, the env file or a certificate that exists). Run it as root from the app's clone:
#
#   sudo bash /srv/reporter/app/scripts/install-server.sh --domain reports.example.org [--start]
#
# --prefix DIR  write every file under DIR instead of / (no packages, no user, no systemctl):
#               to look at the result, and what tests/test_deploy.py runs
# --app-dir DIR the app's clone with its .venv (default: the clone this script is in)
# --dry-run     print what would be done, change nothing
# --start       also enable and (re)start nginx, tor, the purge timer and the app (after
#               `keys init`, docs/operations.md step 6)
set -euo pipefail

APP_DIR="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX=""
DOMAIN=""
DRY=0
START=0

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --domain) DOMAIN="${2:?--domain needs a name}"; shift 2 ;;
    --prefix) PREFIX="${2:?--prefix needs a folder}"; PREFIX="${PREFIX%/}"; shift 2 ;;
    --app-dir) APP_DIR="${2:?--app-dir needs a folder}"; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    --start) START=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 ;;
  esac
done
DEPLOY="$APP_DIR/deploy"
if [ -z "$DOMAIN" ]; then
  echo "--domain is required (the HTTPS name; an onion-only server can use any placeholder)" >&2
  exit 2
fi
if ! [[ "$DOMAIN" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
  echo "not a host name: $DOMAIN" >&2; exit 2
fi
REAL=0   # acting on this machine's own / (packages, users, services)
if [ -z "$PREFIX" ]; then
  REAL=1
  if [ "$(id -u)" != "0" ] && [ "$DRY" = "0" ]; then echo "run as root (sudo)" >&2; exit 1; fi
fi
P="$PREFIX"

say() { echo "install-server: $*"; }
run() {  # a command that changes something
  if [ "$DRY" = "1" ]; then echo "+ $*"; else "$@"; fi
}
# put_file SOURCE TARGET MODE: copy when missing or different (a rerun changes nothing)
put_file() {
  local src="$1" dst="$P$2" mode="$3"
  if [ -f "$dst" ] && cmp -s "$src" "$dst"; then return 0; fi
  if [ -z "${QUIET:-}" ]; then say "writing $2"; fi
  CHANGED=$((${CHANGED:-0} + 1))
  run install -D -m "$mode" "$src" "$dst"
}
put_dir() {  # put_dir PATH MODE [OWNER:GROUP]
  if [ ! -d "$P$1" ]; then run install -d -m "$2" "$P$1"; fi
  if [ "$DRY" = "0" ]; then chmod "$2" "$P$1"; fi
  if [ "$REAL" = "1" ] && [ -n "${3:-}" ]; then run chown "$3" "$1"; fi
}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# 1. Debian packages (the app's own dependencies come with `make setup`, step 3 of the doc)
if [ "$REAL" = "1" ]; then
  PKGS="nginx libnginx-mod-http-brotli-static tor postgresql redis-server python3 python3-venv
        python3-dev build-essential git make npm openssl ca-certificates certbot"
  missing=""
  for pkg in $PKGS; do dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"; done
  if [ -n "$missing" ]; then
    say "installing$missing"
    run apt-get update -qq
    # shellcheck disable=SC2086
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
  fi
  pgmajor=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n1 || true)
  if [ -n "$pgmajor" ] && ! dpkg -s "postgresql-$pgmajor-postgis-3" >/dev/null 2>&1; then
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$pgmajor-postgis-3"
  fi
fi

# 2. The service user and its folders
if [ "$REAL" = "1" ] && ! id reporter >/dev/null 2>&1; then
  say "creating the system user reporter"
  run useradd --system --home-dir /srv/reporter/home --shell /usr/sbin/nologin reporter
fi
put_dir /srv/reporter 0755 root:root
put_dir /srv/reporter/home 0700 reporter:reporter       # pip's and npm's caches for make setup
put_dir /srv/reporter/instance 0700 reporter:reporter   # keys, pepper: the app's user only
put_dir /srv/reporter/errors 0755 root:root              # read by nginx
put_dir /etc/reporter 0750 root:reporter
put_dir /etc/reporter/tls 0700 root:root
put_dir /var/www/letsencrypt 0755 root:root

# 3. nginx: the main file (Debian's kept beside it once), the site, the shared snippet
if [ -f "$P/etc/nginx/nginx.conf" ] && ! cmp -s "$DEPLOY/nginx/nginx.conf" "$P/etc/nginx/nginx.conf" \
   && [ ! -f "$P/etc/nginx/nginx.conf.dpkg-orig" ]; then
  say "keeping Debian's nginx.conf as nginx.conf.dpkg-orig"
  run cp -p "$P/etc/nginx/nginx.conf" "$P/etc/nginx/nginx.conf.dpkg-orig"
fi
put_file "$DEPLOY/nginx/nginx.conf" /etc/nginx/nginx.conf 0644
put_file "$DEPLOY/nginx/reporter-common.conf" /etc/nginx/snippets/reporter-common.conf 0644
sed "s/reports\.example\.org/$DOMAIN/g" "$DEPLOY/nginx/reporter.conf" > "$TMP/reporter.conf"
put_file "$TMP/reporter.conf" /etc/nginx/sites-available/reporter 0644
if [ "$(readlink "$P/etc/nginx/sites-enabled/reporter" 2>/dev/null)" != "/etc/nginx/sites-available/reporter" ]; then
  say "enabling the site"
  run install -d -m 0755 "$P/etc/nginx/sites-enabled"
  run ln -sfn /etc/nginx/sites-available/reporter "$P/etc/nginx/sites-enabled/reporter"
fi
if [ -e "$P/etc/nginx/sites-enabled/default" ] || [ -L "$P/etc/nginx/sites-enabled/default" ]; then
  say "removing Debian's default site (it has its own access log)"
  run rm -f "$P/etc/nginx/sites-enabled/default"
fi
# nginx's request-body spill folder on tmpfs, made at every boot
put_file "$DEPLOY/systemd/nginx-reporter.tmpfiles.conf" /etc/tmpfiles.d/nginx-reporter.conf 0644

# 4. Tor: the onion service, included from Debian's torrc
put_file "$DEPLOY/tor/torrc" /etc/tor/torrc.d/reporter.conf 0644
INCLUDE="%include /etc/tor/torrc.d/*.conf"
if ! grep -qxF "$INCLUDE" "$P/etc/tor/torrc" 2>/dev/null; then
  say "adding the torrc.d include to /etc/tor/torrc"
  if [ "$DRY" = "1" ]; then echo "+ append '$INCLUDE' to $P/etc/tor/torrc"
  else install -d -m 0755 "$P/etc/tor"; printf '\n%s\n' "$INCLUDE" >> "$P/etc/tor/torrc"; fi
fi

# 5. systemd units
for unit in reporter.service reporter-purge.service reporter-purge.timer; do
  put_file "$DEPLOY/systemd/$unit" "/etc/systemd/system/$unit" 0644
done

# 6. Settings: a new env file only when there is none (never a second SECRET_KEY)
if [ ! -f "$P/etc/reporter/env" ]; then
  say "writing /etc/reporter/env with a new SECRET_KEY"
  secret=$(openssl rand -base64 48 | tr -d '\n/+=' | cut -c1-64)
  sed "s|^SECRET_KEY=.*|SECRET_KEY=$secret|" "$DEPLOY/env.example" > "$TMP/env"
  run install -D -m 0640 "$TMP/env" "$P/etc/reporter/env"
  if [ "$REAL" = "1" ]; then run chown root:reporter /etc/reporter/env; fi
fi

# 7. TLS: a self-signed pair until Let's Encrypt's is linked in (docs/operations.md, step 8)
if [ ! -e "$P/etc/reporter/tls/fullchain.pem" ]; then
  say "making a temporary self-signed certificate for $DOMAIN"
  run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=$DOMAIN" -keyout "$P/etc/reporter/tls/privkey.pem" \
    -out "$P/etc/reporter/tls/fullchain.pem" 2>/dev/null
  run chmod 0600 "$P/etc/reporter/tls/privkey.pem"
fi

# 8. nginx's own error pages (413, 502, 504 ...) from the app's template, in every language,
#    with the languages and Quick exit address of /etc/reporter/env
PY="$APP_DIR/.venv/bin/python"
if [ -x "$PY" ]; then
  setting() {  # the value of one NAME=value line of the env file (none: empty)
    sed -n "s/^$1=//p" "$P/etc/reporter/env" 2>/dev/null | tail -n1
  }
  (cd "$APP_DIR" && env -i PATH="$PATH" HOME="$TMP" LANGUAGES="$(setting LANGUAGES)" \
    QUICK_EXIT_URL="$(setting QUICK_EXIT_URL)" \
    "$PY" -c 'import sys; from reporter.__main__ import main; sys.exit(main(sys.argv[1:]))' \
    error-pages --out "$TMP/errors" >/dev/null)
  CHANGED=0
  for page in "$TMP"/errors/*/*.html; do
    rel="${page#"$TMP/errors/"}"
    QUIET=1 put_file "$page" "/srv/reporter/errors/$rel" 0644
  done
  if [ "$CHANGED" != "0" ]; then say "writing $CHANGED error pages under /srv/reporter/errors"; fi
else
  say "no $PY yet: run 'make setup' in $APP_DIR (as the reporter user), then run this again"
fi

# 9. Swap can hold plaintext from a worker's memory (a no-JS report in the request that
#    sealed it): no swap, or encrypted swap (docs/operations.md, step 1)
if [ "$REAL" = "1" ] && [ -n "$(swapon --noheadings --show=NAME 2>/dev/null)" ]; then
  for dev in $(swapon --noheadings --show=NAME); do
    if ! lsblk -no TYPE "$dev" 2>/dev/null | grep -q crypt; then
      say "WARNING: swap on $dev is not encrypted: 'swapoff -a' and remove it from /etc/fstab,"
      say "         or encrypt it (docs/operations.md)"
    fi
  done
fi

# 10. Check, and start when asked
if [ "$REAL" = "1" ]; then
  run systemd-tmpfiles --create /etc/tmpfiles.d/nginx-reporter.conf
  run nginx -t -q
  run systemctl daemon-reload
  if [ "$START" = "1" ]; then
    run systemctl enable --now reporter.service reporter-purge.timer
    run systemctl reload-or-restart nginx
    run systemctl restart tor@default
    say "onion address: $(cat /var/lib/tor/reporter/hostname 2>/dev/null || echo 'not yet: see journalctl -u tor@default')"
  else
    say "files in place; next: docs/operations.md step 6 (keys init), then run again with --start"
  fi
else
  say "files written under $P"
fi
