"""gunicorn settings for the web nodes: `gunicorn -c deploy/gunicorn.conf.py 'webapp:create_app()'`.

gunicorn listens on 127.0.0.1 only, behind nginx (deploy/nginx/gongjian.conf): its threads
read requests with blocking reads, so slow clients must meet nginx's timeouts first.

The timer and webhook worker is NOT run here: start `gongjian worker` as its own service
(one or more per cluster, against the same PostgreSQL; FOR UPDATE SKIP LOCKED shares work).
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# CPU-bound work (restoring workflows) wants processes; a few threads cover the I/O waits.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Not preloaded: each worker opens its own database pool after the fork (no shared sockets).
preload_app = False
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 2000  # recycle workers now and then; memory stays flat
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Once the worker has loaded the app, move what it loaded (modules, the mappings, the
    process definitions' classes, the templates' code) to the collector's permanent
    generation: a full collection then walks only what requests made since, instead of
    pausing every thread of the worker for a tenth of a second or more to walk it all."""
    gc.collect()
    gc.freeze()


# What the first requests load lazily (the process definitions, the compiled statements and
# templates) is frozen too, once the worker has served this many.
FREEZE_AGAIN_AFTER = 100


def post_request(worker, req, environ, resp):
    """Freeze what the worker's first requests loaded (see `post_worker_init`)."""
    if worker.nr == FREEZE_AGAIN_AFTER:
        gc.collect()
        gc.freeze()
