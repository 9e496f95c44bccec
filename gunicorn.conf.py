"""gunicorn settings for Billcycle: `gunicorn billing_project.wsgi` in this folder reads them.

Every value can be changed from the environment (scripts/serve-cluster, the systemd units in
docs/operations.md). The defaults suit a 2-core machine; docs/benchmarks.md ("Web under 8
clients") has the measurements behind them.

Database connections: each thread keeps one for DATABASE_CONN_MAX_AGE seconds, so this server
holds up to GUNICORN_WORKERS × GUNICORN_THREADS connections (8 by default). Count them against
PostgreSQL's max_connections with the workers' (docs/operations.md, "Database connections").
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Threads overlap the database waits of one process; processes use the cores (the GIL lets
# one thread of a process run Python at a time).
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# gthread checks in between requests, so a long export streams beyond `timeout`; only a worker
# stuck as a whole is restarted.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# A fresh process now and then bounds memory growth; the jitter keeps workers from restarting
# together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
proc_name = "billcycle-web"
# gunicorn 27 opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl), which a
# second server on the machine takes over; nothing here uses it.
control_socket_disable = True
