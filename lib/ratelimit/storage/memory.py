"""Counters in one process's memory, for tests and tools."""

import threading
import time

from ..window import BUCKETS, current_bucket, window_expired
from .base import Storage


class MemoryStorage(Storage):
    """Counters in this process's memory: for tests and one-process tools.
    Odoo runs several processes and servers, which this cannot share."""

    def __init__(self):
        self._lock = threading.Lock()
        self._windows = {}
        self._tallies = {}

    def _decide(self, key, limits, cost, consume, tally, now):
        now = time.time() if now is None else now
        with self._lock:
            windows = []
            allowed = True
            for limit in limits:
                current = current_bucket(limit, now)
                counts, expires_at = self._windows.get((key, limit.seconds), ({}, None))
                if window_expired(expires_at, now):
                    counts, expires_at = {}, None
                counts = {b: c for b, c in counts.items() if b >= current - BUCKETS}
                if sum(counts.values()) + cost > limit.quantity:
                    allowed = False
                windows.append((current, counts, expires_at))
            if consume and allowed:
                for limit, (current, counts, expires_at) in zip(
                    limits, windows, strict=True
                ):
                    stored = dict(counts)
                    stored[current] = stored.get(current, 0) + cost
                    expires_at = max(expires_at or now, now + limit.seconds)
                    self._windows[(key, limit.seconds)] = (stored, expires_at)
            if tally:
                self._count(tally, "allowed" if allowed else "refused", 1)
        return allowed, now, windows

    def _count(self, tally, field, amount):
        fields = self._tallies.setdefault(tally, {})
        fields[field] = fields.get(field, 0) + amount

    def count(self, tally, field, amount=1):
        with self._lock:
            self._count(tally, field, amount)

    def drain(self, prefix=""):
        with self._lock:
            names = [name for name in self._tallies if name.startswith(prefix)]
            return {name: self._tallies.pop(name) for name in names}

    def clear(self, key, limits):
        with self._lock:
            for limit in limits:
                self._windows.pop((key, limit.seconds), None)
