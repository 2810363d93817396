"""Counters in Redis: one Lua script per decision
(``resources/redis_decide.lua``) and one to drain tallies
(``resources/redis_drain.lua``)."""

from pathlib import Path

from ..window import BUCKETS
from .base import Storage

_RESOURCES = Path(__file__).parent / "resources"
# Redis: one hash per key and period, bucket -> count, and the field ``x``:
# when its newest call leaves the window (the hash expires then); one hash
# of tallies. The script reads the clock of the Redis server, the same for
# every process.
REDIS_DECIDE = (_RESOURCES / "redis_decide.lua").read_text()
REDIS_DRAIN = (_RESOURCES / "redis_drain.lua").read_text()


class RedisStorage(Storage):
    """Counters in Redis, for request rates PostgreSQL should not carry.

    ``client`` is a ``redis.Redis``; every key starts with ``prefix``. Redis
    errors (unreachable server, time-outs) propagate as ``redis`` exceptions:
    what to do then is the caller's choice.
    """

    def __init__(self, client, prefix):
        self.client = client
        self.prefix = prefix
        self._decide_script = client.register_script(REDIS_DECIDE)
        self._drain_script = client.register_script(REDIS_DRAIN)

    def _window_key(self, key, limit):
        # The key in braces is a Redis Cluster hash tag: the windows of one
        # key share a slot, as a multi-key script requires.
        return f"{self.prefix}rl:{{{key}}}:{limit.seconds}"

    @property
    def _tally_key(self):
        return f"{self.prefix}tally"

    def _decide(self, key, limits, cost, consume, tally, now):
        keys = [self._window_key(key, limit) for limit in limits] + [self._tally_key]
        args = [BUCKETS, cost, int(consume), "" if now is None else repr(now)]
        args.append(tally or "")
        for limit in limits:
            args += [limit.quantity, limit.seconds]
        raw = self._decide_script(keys=keys, args=args)
        windows = []
        for current, live, expires_at in raw[2:]:
            counts = zip(live[::2], live[1::2], strict=True)
            windows.append(
                (
                    int(current),
                    {int(b): int(c) for b, c in counts},
                    float(expires_at) if expires_at else None,
                )
            )
        return bool(raw[0]), float(raw[1]), windows

    def count(self, tally, field, amount=1):
        self.client.hincrby(self._tally_key, f"{tally}\n{field}", amount)

    def drain(self, prefix=""):
        raw = self._drain_script(keys=[self._tally_key], args=[prefix])
        tallies = {}
        for name_field, value in zip(raw[::2], raw[1::2], strict=True):
            name, field = _text(name_field).rsplit("\n", 1)
            tallies.setdefault(name, {})[field] = int(value)
        return tallies

    def clear(self, key, limits):
        self.client.delete(*(self._window_key(key, limit) for limit in limits))


def _text(value):
    return value.decode() if isinstance(value, bytes) else value
