"""CPU-bound work (bcrypt) that must not stall a cooperative worker.

Under gunicorn's gevent worker (gunicorn.conf.py) every request of a worker shares one OS
thread: a 250 ms bcrypt check would stop all of them. There it runs in gevent's thread pool
(bcrypt releases the GIL); anywhere else it simply runs.
"""
import sys


def _gevent_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


def run_blocking(function, *args):
    if _gevent_patched():
        import gevent

        return gevent.get_hub().threadpool.apply(function, args)
    return function(*args)
