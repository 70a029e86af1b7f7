"""RSS and CPU of every process of the stack."""
from __future__ import annotations

import threading

import psutil

from bench.soak.stack import Stack


class MemoryWatch(threading.Thread):
    """RSS of every process of the stack, every few seconds (start / peak / end)."""

    def __init__(self, stack: Stack, every: float = 5.0):
        super().__init__(daemon=True, name="memory")
        self.stack, self.every = stack, every
        self.stop_event = threading.Event()
        self.peak: dict[str, float] = {}
        self.gunicorn_workers_seen: set[int] = set()
        self.extra: dict[str, int] = {}  # label -> pid (the load generator, this driver)
        self.cpu_first: dict[int, float] = {}  # pid -> CPU seconds when first seen

    def snapshot(self) -> dict[str, dict]:
        out: dict[str, dict] = {}

        def measure(label: str, pids: list[int]) -> None:
            rss = uss = cpu = 0.0
            alive = 0
            for pid in pids:
                try:
                    process = psutil.Process(pid)
                    info = process.memory_full_info()
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                rss += info.rss
                uss += info.uss
                used = times.user + times.system
                # CPU since this process was first seen (a process born meanwhile: all of it).
                cpu += used - self.cpu_first.setdefault(pid, 0.0 if self.started else used)
                alive += 1
            out[label] = {"rss_mb": rss / 2**20, "uss_mb": uss / 2**20, "processes": alive,
                          "cpu_s": cpu}

        master = self.stack.gunicorn.pid
        measure("gunicorn master", [master])
        try:
            workers = sorted(c.pid for c in psutil.Process(master).children())
        except psutil.Error:
            workers = []
        self.gunicorn_workers_seen.update(workers)
        for number, pid in enumerate(workers, start=1):
            measure(f"gunicorn worker {number}", [pid])
        for number, server in enumerate(self.stack.agi, start=1):
            measure(f"agi {number}", server.pids())
        pg = self.stack.postgres_pids()
        measure("postgres postmaster", pg[:1])
        measure("postgres (all)", pg)
        for label, pid in self.extra.items():
            measure(label, [pid])
        return out

    started = False

    def take(self) -> dict:
        snap = self.snapshot()
        self.started = True
        for label, values in snap.items():
            self.peak[label] = max(self.peak.get(label, 0.0), values["rss_mb"])
        return snap

    def run(self) -> None:
        while not self.stop_event.wait(self.every):
            try:
                self.take()
            except Exception:  # noqa: BLE001 - a process between two states; next round
                pass

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)
