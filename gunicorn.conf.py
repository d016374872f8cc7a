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
