"""gunicorn settings. No access log at all: an access line carries the client address.

Worker model (issue 11, slow uploads; issue 13 audit 7, slow sockets): threaded workers
(gthread). A phone on 2G sends a 1 MB photo at about 12 KB/s, so one upload holds its
connection for 90 s or more. With sync workers that connection held a whole worker, gunicorn
killed it after `timeout` (60 s: a bare "Internal Server Error"), and three such uploads took
the site down. With gthread a slow body ties up one thread of one worker, the worker keeps
answering its heartbeat from its main loop (so `timeout` no longer limits how long a request
may take to arrive), and idle or kept-alive connections wait in the worker's poller, not in a
thread. In production nginx sits in front and buffers every request body in memory before it
reaches gunicorn (deploy/nginx/reporter.conf), so there a slow client costs nginx a few KB, not
a thread; `make demo` has no nginx, and the threads carry it alone.
"""

import os

from gunicorn.http import wsgi as _gunicorn_wsgi

from reporter.web import logfilters as _logfilters

# gunicorn's own lines without the client's address or request text (issue 13 audit 12)
_logfilters.install()

bind = f"127.0.0.1:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "gthread"
# Threads per worker: workers x threads requests in progress at once (slow uploads included).
# Each receipt costs one Argon2id of 64 MiB while it runs, so the worst case in memory is
# workers x threads x 64 MiB (3 x 8 x 64 MiB = 1.5 GiB); lower GUNICORN_THREADS on a small host.
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# gthread: the worker's heartbeat, not a limit on a request. Generous, so that a worker busy
# with several Argon2id at once on a loaded 2-core host is not killed mid-report.
timeout = 120
# a restart lets uploads in progress finish (a 1 MB photo on 2G takes about 90 s)
graceful_timeout = 30
# A worker takes a connection only while it has a free thread for it (worker_connections =
# threads): otherwise a worker whose threads all hold slow uploads would still accept the next
# visitor and queue her behind them, while another worker sits idle. No kept-alive connections
# then (they would count against the same number): each request opens its own connection, on
# loopback from nginx, which costs nothing.
worker_connections = threads
keepalive = 0
accesslog = None
disable_redirect_access_to_syslog = True
errorlog = "-"
loglevel = "warning"
proc_name = "reporter"
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
forwarded_allow_ips = "127.0.0.1"
# gunicorn's own 400 pages are bare English text: accept what nginx passes on (its 8 KB
# header buffers refuse longer lines first, with our styled 414/400 pages)
limit_request_line = 8190
limit_request_fields = 50
# gunicorn >= 25 opens a control socket under $HOME by default: shared by every instance on
# the host (two app servers would fight over it) and not needed (systemd manages the process)
control_socket_disable = True

# Load the app once in the master and fork the workers from it: a configuration error stops
# the start at once (instead of workers failing one by one), and the offline gazetteer behind
# the report form (about 4 s of CPU to load) is read once, not again in every worker and after
# every worker restart. Nothing connects to the database or Redis before the fork; each worker
# still drops any pooled connection it might have inherited (post_fork).
preload_app = True

# No `Server: gunicorn` banner (issue 13 audit 19): one more fingerprint of the stack. gunicorn
# has no setting for it, so its response's default header lines are filtered here, once.
_default_headers = _gunicorn_wsgi.Response.default_headers


def _without_server_banner(self):  # noqa: ANN001, ANN202 - gunicorn's method signature
    return [line for line in _default_headers(self) if not line.startswith("Server:")]


if getattr(_default_headers, "__name__", "") != "_without_server_banner":
    _gunicorn_wsgi.Response.default_headers = _without_server_banner


def when_ready(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    from reporter.domain import gazetteer

    gazetteer.towns()


def post_fork(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    import wsgi

    wsgi.app.extensions["reporter.db"].engine.dispose(close=False)
