"""gunicorn settings. No access log at all: an access line carries the client address."""

import os

bind = f"127.0.0.1:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = 1
timeout = 60
graceful_timeout = 20
accesslog = None
disable_redirect_access_to_syslog = True
errorlog = "-"
loglevel = "warning"
proc_name = "reporter"
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
forwarded_allow_ips = "127.0.0.1"
limit_request_line = 4094
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


def when_ready(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    from reporter import gazetteer

    gazetteer.towns()


def post_fork(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    import wsgi

    wsgi.app.extensions["reporter.db"].engine.dispose(close=False)
