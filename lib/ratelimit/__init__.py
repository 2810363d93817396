"""Rate limits: the limit items, the sliding-window arithmetic, the decision
and its HTTP headers, and the storages that keep the counters.

Three concerns are kept apart, as in the ``limits`` library:

* a **limit** (``100/minute``) is parsed once by :func:`parse_limits`;
* the **strategy** is a sliding window counted in ``BUCKETS`` buckets per
  window: a call is accepted when the calls counted in the buckets that
  overlap the last window, plus this one, stay within the quantity. The
  oldest bucket is counted whole, so the window looked at is never shorter
  than the period: no sequence of calls ever gets more than ``quantity``
  accepted within any ``period`` seconds, and a client that spent its quota
  waits at most one bucket (1/60 of the period) longer than an exact log
  would make it. Each window also keeps when its newest call leaves it
  (``expires_at``): the newest bucket leaves then, so ``Retry-After`` and
  the ``t`` of ``RateLimit`` never exceed the period;
* the **storage** keeps the buckets: :class:`MemoryStorage` (one process,
  for tests and tools), :class:`PostgresStorage` (an UNLOGGED table and one
  server-side function: one round trip per decision) and
  :class:`RedisStorage` (one Lua script). Every storage decides atomically:
  several limits are checked together and a refused call consumes nothing.

The storages only report the buckets they hold; :func:`make_decision`
turns them into a :class:`Decision` the same way for all of them, and
:func:`decision_headers` into the headers of the IETF httpapi draft
(``RateLimit-Policy``, ``RateLimit``) and the classic ``X-RateLimit-*``.
"""

from .headers import decision_headers, retry_after_seconds
from .item import UNIT_ALIASES, UNITS, Limit, parse_limits
from .storage import (
    PG_SCHEMA,
    MemoryStorage,
    PostgresStorage,
    RedisStorage,
    Storage,
    install_postgres,
)
from .window import (
    BUCKETS,
    Decision,
    LimitState,
    bucket_width,
    current_bucket,
    make_decision,
)

__all__ = [
    "BUCKETS",
    "PG_SCHEMA",
    "UNITS",
    "UNIT_ALIASES",
    "Decision",
    "Limit",
    "LimitState",
    "MemoryStorage",
    "PostgresStorage",
    "RedisStorage",
    "Storage",
    "bucket_width",
    "current_bucket",
    "decision_headers",
    "install_postgres",
    "make_decision",
    "parse_limits",
    "retry_after_seconds",
]
