"""Sample gunicorn configuration for the portal (`gunicorn -c deploy/portal/gunicorn.conf.py
licensing_portal.wsgi`), behind nginx (deploy/portal/nginx.conf). Flags given on the command
line override these values; so do the GUNICORN_* variables below.

Web processes keep no state of their own (sessions and data in PostgreSQL, rate-limit counters
in Redis), so more capacity is more workers here or more hosts behind the load balancer.
"""

import multiprocessing
import os

# nginx on the same host proxies to this address; never expose gunicorn itself.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: a request is short (a few ms of Python and SQL) and nginx buffers slow clients.
# Two workers per CPU plus one (gunicorn's own starting point): each waits on PostgreSQL and
# Redis for part of every request, and with more workers than CPUs a start-up call shares the
# CPUs with a slow page instead of queueing behind it. bench/load.py on 2 CPUs, p99 of
# Activate: 263 ms with 3 workers, 102 ms with 5, 132 ms with 8. Each worker holds one
# PostgreSQL connection (CONN_MAX_AGE), so workers x hosts must stay below PostgreSQL's
# max_connections (or put PgBouncer in between).
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request that takes this long is stuck (the API's queries take milliseconds): the worker is
# killed and replaced. Long jobs (training, reports' exports) run in Celery, not here.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30  # systemd's stop / reload lets requests in flight finish
keepalive = 5
# No recycling by default. A worker that replaces a recycled one imports the whole portal
# again (about a second of CPU) and serves its first calls cold, and requests spread evenly
# over the workers, so they all reach the count within seconds of each other: on
# bench/load.py's 2 CPUs, with max_requests 5000 all five were replaced within 9 s of the
# steady phase and Activate's p99 went from 28.8 ms to 889-2,544 ms. GUNICORN_MAX_REQUESTS
# turns recycling on where a leak must be capped (with a tenth of it as jitter); size it so
# that replacements are hours apart, and expect a slow second around each.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# Heartbeat files on tmpfs: a disk under load must not make the arbiter kill healthy workers.
SHM = "/dev/shm"  # noqa: S108  (gunicorn only keeps heartbeat files there)
worker_tmp_dir = SHM if os.path.isdir(SHM) else None
# Trust X-Forwarded-* only from nginx on this host (see SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "licensing-portal"
