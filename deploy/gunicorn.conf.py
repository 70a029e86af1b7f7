"""gunicorn in production: `gunicorn -c deploy/gunicorn.conf.py wsgi:application`.

Slow clients. gunicorn's default sync workers read a request on the worker itself: a handful
of sockets that never finish their headers stall every worker (gunicorn's documentation only
supports them behind a buffering proxy). Here each worker is a gevent worker: every
connection is a greenlet, so a socket that trickles its headers costs one greenlet and a file
descriptor, not a worker, and `keepalive` bounds how long a request's headers may take (past
it the connection is closed). Up to `worker_connections` connections per worker; past that new
ones wait in the listen backlog. tests/integration/test_production_server.py starts exactly
this file and floods it with slow clients while normal requests keep answering.

bcrypt (CPU for ~0.25 s per check at cost 12) runs in gevent's thread pool
(app.services.blocking), and psycopg detects gevent's monkey-patching and waits cooperatively, so
a login burst slows a worker's other requests but does not stop them.

Settings come from the environment:
  GUNICORN_BIND                 where to listen (default 127.0.0.1:8000; put a TLS proxy in front
                                or bind 0.0.0.0:8000 on a private network)
  GUNICORN_WORKERS              processes (default 2 per core + 1)
  GUNICORN_WORKER_CONNECTIONS   connections per worker (default 1000)
  GUNICORN_HEADER_TIMEOUT       seconds a request's headers (and an idle keep-alive) may take (5)
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gevent"
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", 1000))
keepalive = int(os.environ.get("GUNICORN_HEADER_TIMEOUT", 5))
timeout = 30            # a worker silent this long is restarted
graceful_timeout = 30
backlog = 2048
# Request size limits (gunicorn's defaults, stated): a longer line or header is a 4xx.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = os.environ.get("GUNICORN_ACCESS_LOG")  # unset: no access log
errorlog = "-"
