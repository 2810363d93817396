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
  would make it;
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

import functools
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import NamedTuple

BUCKETS = 60  # per window: a minute is counted in one-second buckets

UNITS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
}
UNIT_ALIASES = {
    "s": "second",
    "sec": "second",
    "m": "minute",
    "min": "minute",
    "h": "hour",
    "hr": "hour",
    "d": "day",
}
_LIMIT_RE = re.compile(
    r"^(?P<quantity>\d+)\s*(?:/|\bper\b)\s*(?P<multiple>\d+)?\s*(?P<unit>[a-z]+)$",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"[;,\n]")


class Limit(NamedTuple):
    """At most ``quantity`` calls in any ``seconds`` seconds; ``name`` is
    how the limit is called in headers and messages (``"minute"``)."""

    quantity: int
    seconds: int
    name: str

    def __str__(self):
        return f"{self.quantity}/{self.name}"


@functools.lru_cache(maxsize=512)
def parse_limits(text):
    """Parses ``"100/minute; 5000/hour"`` into a tuple of :class:`Limit`,
    shortest period first. Items are separated by ``;``, ``,`` or new lines
    and read ``<quantity>/<unit>``, ``<quantity>/<n> <unit>s`` or
    ``<quantity> per <unit>``; units are second, minute, hour, day (plurals
    and s, m, h, d accepted). Empty text means no limit: ``()``.

    Raises ValueError naming the item that cannot be read.
    """
    limits = {}
    for item in _SEPARATORS.split(text or ""):
        item = item.strip()
        if not item:
            continue
        limit = _parse_limit(item)
        if limit.seconds in limits:
            raise ValueError(
                f"{item!r} and {str(limits[limit.seconds])!r} limit the same period"
            )
        limits[limit.seconds] = limit
    return tuple(limits[seconds] for seconds in sorted(limits))


def _parse_limit(item):
    match = _LIMIT_RE.match(item)
    unit = match and match["unit"].lower()
    unit = unit and UNIT_ALIASES.get(unit, unit.removesuffix("s"))
    if not match or unit not in UNITS:
        raise ValueError(
            f"{item!r} is not a rate limit: write it like 100/minute, "
            "5000/hour or 10/15 minutes"
        )
    quantity = int(match["quantity"])
    multiple = int(match["multiple"] or 1)
    if quantity < 1 or multiple < 1:
        raise ValueError(f"{item!r}: the quantity and the period must be positive")
    name = unit if multiple == 1 else f"{multiple} {unit}s"
    return Limit(quantity, multiple * UNITS[unit], name)


def bucket_width(limit):
    """Seconds covered by one bucket of ``limit``'s window."""
    return limit.seconds / BUCKETS


def current_bucket(limit, now):
    """The bucket ``now`` (epoch seconds) falls in, for ``limit``."""
    return math.floor(now / bucket_width(limit))


@dataclass(frozen=True)
class LimitState:
    """Where one limit stands after a decision."""

    limit: Limit
    used: int  # calls counted in the window
    remaining: int  # calls still accepted now
    reset: float  # seconds until every counted call has left the window
    wait: float  # seconds until a call of the decision's cost fits again


@dataclass(frozen=True)
class Decision:
    """The answer to "may this call go through?" for one key.

    ``limit``, ``remaining`` and ``reset`` describe the limit closest to
    blocking (the one that refused, else the one with the fewest calls
    left); ``retry_after`` is 0 when allowed, else the seconds until the
    call would be accepted; ``now`` is the storage's clock (epoch seconds);
    ``states`` holds every limit.
    """

    allowed: bool
    limit: Limit
    remaining: int
    reset: float
    retry_after: float
    now: float
    states: tuple

    @property
    def limits(self):
        return tuple(state.limit for state in self.states)


def make_decision(limits, now, windows, allowed, cost=1, consumed=False):
    """Builds the :class:`Decision` from what a storage read.

    ``windows`` holds, for each limit, ``(current bucket, {bucket: count})``
    as read BEFORE the call was counted; ``consumed`` says the call was
    counted (then ``cost`` is added to the current bucket here).
    """
    states = []
    for limit, (current, counts) in zip(limits, windows, strict=True):
        width = bucket_width(limit)
        oldest = current - BUCKETS
        live = {b: c for b, c in counts.items() if b >= oldest and c > 0}
        if consumed:
            live[current] = live.get(current, 0) + cost
        ordered = sorted(live.items())
        used = sum(live.values())
        reset = (ordered[-1][0] + BUCKETS + 1) * width - now if ordered else 0.0
        states.append(
            LimitState(
                limit=limit,
                used=used,
                remaining=max(0, limit.quantity - used),
                reset=max(0.0, reset),
                wait=_wait(limit, ordered, used, cost, now),
            )
        )
    if allowed:
        closest = min(states, key=lambda s: (s.remaining, -s.reset))
        retry_after = 0.0
    else:
        closest = max(states, key=lambda s: (s.wait, -s.remaining))
        retry_after = closest.wait
    return Decision(
        allowed=allowed,
        limit=closest.limit,
        remaining=closest.remaining,
        reset=closest.reset,
        retry_after=retry_after,
        now=now,
        states=tuple(states),
    )


def _wait(limit, ordered, used, cost, now):
    """Seconds until ``cost`` more calls fit in ``limit``: the oldest buckets
    leave the window one by one until enough calls have left with them."""
    excess = used + cost - limit.quantity
    if excess <= 0:
        return 0.0
    if cost > limit.quantity:
        return math.inf
    width = bucket_width(limit)
    freed = 0
    for bucket, count in ordered:
        freed += count
        if freed >= excess:
            return max(0.0, (bucket + BUCKETS + 1) * width - now)
    return math.inf  # unreachable: the buckets hold ``used`` calls


def _seconds(value):
    """Whole seconds for a header, rounded up so that a client waiting that
    long is never early."""
    return math.ceil(value - 1e-9) if math.isfinite(value) else 0


def _sf_string(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def decision_headers(decision):
    """The response headers describing ``decision``, as (name, value) pairs:
    ``RateLimit-Policy`` (every limit), ``RateLimit`` (the one closest to
    blocking), ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` (epoch
    seconds) and, when refused, ``Retry-After``."""
    policy = ", ".join(
        f"{_sf_string(limit.name)};q={limit.quantity};w={limit.seconds}"
        for limit in decision.limits
    )
    reset = _seconds(decision.reset)
    headers = [
        ("RateLimit-Policy", policy),
        (
            "RateLimit",
            f"{_sf_string(decision.limit.name)};r={decision.remaining};t={reset}",
        ),
        ("X-RateLimit-Limit", str(decision.limit.quantity)),
        ("X-RateLimit-Remaining", str(decision.remaining)),
        ("X-RateLimit-Reset", str(_seconds(decision.now + decision.reset))),
    ]
    if not decision.allowed:
        headers.append(("Retry-After", str(retry_after_seconds(decision))))
    return headers


def retry_after_seconds(decision):
    """``Retry-After`` of a refused decision: whole seconds, at least 1."""
    return max(1, _seconds(decision.retry_after))


class Storage:
    """Keeps the counters of the windows and decides atomically.

    Subclasses implement :meth:`_decide`, :meth:`count`, :meth:`drain`,
    :meth:`clear`. ``now`` arguments (epoch seconds) exist for tests: left
    out, the storage's own clock decides, the same for every process.
    """

    def hit(self, key, limits, cost=1, *, tally=None, now=None):
        """Counts one call of ``cost`` for ``key`` when every limit allows
        it; a refused call counts nothing. With ``tally``, adds 1 to that
        tally's ``allowed`` or ``refused`` counter in the same step.
        Returns the :class:`Decision`."""
        return self._run(key, limits, cost, True, tally, now)

    def peek(self, key, limits, cost=1, *, now=None):
        """Whether a call of ``cost`` would be allowed now, counting nothing."""
        return self._run(key, limits, cost, False, None, now)

    def _run(self, key, limits, cost, consume, tally, now):
        if not limits:
            raise ValueError("no limit to decide on")
        if cost < 1:
            raise ValueError("the cost of a call is at least 1")
        allowed, now, windows = self._decide(key, limits, cost, consume, tally, now)
        return make_decision(
            limits, now, windows, allowed, cost, consumed=consume and allowed
        )

    def _decide(self, key, limits, cost, consume, tally, now):
        """Returns ``(allowed, now, windows)``; see :func:`make_decision`."""
        raise NotImplementedError

    def count(self, tally, field, amount=1):
        """Adds ``amount`` to the counter ``field`` of ``tally``."""
        raise NotImplementedError

    def drain(self, prefix=""):
        """Returns ``{tally: {field: value}}`` for the tallies whose name
        starts with ``prefix`` and forgets those counts, so that each count
        is handed out once."""
        raise NotImplementedError

    def clear(self, key, limits):
        """Forgets the counters of ``key`` for ``limits``."""
        raise NotImplementedError


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
                counts = self._windows.get((key, limit.seconds), {})
                counts = {b: c for b, c in counts.items() if b >= current - BUCKETS}
                if sum(counts.values()) + cost > limit.quantity:
                    allowed = False
                windows.append((current, counts))
            if consume and allowed:
                for limit, (current, counts) in zip(limits, windows, strict=True):
                    stored = dict(counts)
                    stored[current] = stored.get(current, 0) + cost
                    self._windows[(key, limit.seconds)] = stored
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


# PostgreSQL: the windows and tallies live in UNLOGGED tables (no WAL: a
# crash of the server forgets them, which only resets the counters), and one
# function decides, so that a decision is one round trip. Decisions on one
# key queue on a transaction-level advisory lock - in a two-key space of its
# own (1919250540, hash of the key), apart from the one-key locks of other
# code; at READ COMMITTED each statement after it sees what the previous
# decision committed.
PG_SCHEMA = """
CREATE UNLOGGED TABLE IF NOT EXISTS integration_rate_limit_counter (
    key varchar NOT NULL,
    period integer NOT NULL,
    buckets bigint[] NOT NULL,
    counts integer[] NOT NULL,
    expires_at double precision NOT NULL,
    PRIMARY KEY (key, period)
);
CREATE INDEX IF NOT EXISTS integration_rate_limit_counter_expires_at_idx
    ON integration_rate_limit_counter (expires_at);
CREATE UNLOGGED TABLE IF NOT EXISTS integration_rate_limit_tally (
    name varchar NOT NULL,
    field varchar NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (name, field)
);
CREATE OR REPLACE FUNCTION integration_rate_limit_decide(
    p_key varchar, p_quantities integer[], p_periods integer[], p_cost integer,
    p_consume boolean, p_now double precision, p_tally varchar, p_buckets integer
) RETURNS TABLE (
    r_allowed boolean, r_now double precision, r_current bigint,
    r_buckets bigint[], r_counts integer[]
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_now double precision := coalesce(
        p_now, extract(epoch FROM clock_timestamp())::double precision);
    v_count integer := coalesce(array_length(p_periods, 1), 0);
    v_allowed boolean := true;
    v_current bigint[] := '{}';
    v_found boolean[] := '{}';
    -- The live buckets of every window, one after the other; window i
    -- holds elements v_from[i] .. v_from[i + 1] - 1.
    v_from integer[] := '{}';
    v_all_buckets bigint[] := '{}';
    v_all_counts integer[] := '{}';
    v_row_buckets bigint[];
    v_row_counts integer[];
    v_buckets bigint[];
    v_counts integer[];
    v_width double precision;
    v_used bigint;
    v_slot integer;
BEGIN
    IF p_consume THEN
        PERFORM pg_advisory_xact_lock(1919250540, hashtext(p_key));
    END IF;
    FOR i IN 1 .. v_count LOOP
        v_width := p_periods[i]::double precision / p_buckets;
        v_current[i] := floor(v_now / v_width)::bigint;
        v_from[i] := coalesce(array_length(v_all_buckets, 1), 0) + 1;
        v_used := 0;
        SELECT w.buckets, w.counts INTO v_row_buckets, v_row_counts
          FROM integration_rate_limit_counter w
         WHERE w.key = p_key AND w.period = p_periods[i];
        v_found[i] := FOUND;
        FOR j IN 1 .. coalesce(array_length(v_row_buckets, 1), 0) LOOP
            IF v_row_buckets[j] >= v_current[i] - p_buckets THEN
                v_all_buckets := v_all_buckets || v_row_buckets[j];
                v_all_counts := v_all_counts || v_row_counts[j];
                v_used := v_used + v_row_counts[j];
            END IF;
        END LOOP;
        IF v_used + p_cost > p_quantities[i] THEN
            v_allowed := false;
        END IF;
    END LOOP;
    v_from[v_count + 1] := coalesce(array_length(v_all_buckets, 1), 0) + 1;
    FOR i IN 1 .. v_count LOOP
        v_buckets := v_all_buckets[v_from[i] : v_from[i + 1] - 1];
        v_counts := v_all_counts[v_from[i] : v_from[i + 1] - 1];
        r_allowed := v_allowed;
        r_now := v_now;
        r_current := v_current[i];
        r_buckets := v_buckets;
        r_counts := v_counts;
        RETURN NEXT;
        CONTINUE WHEN NOT (p_consume AND v_allowed);
        v_slot := array_position(v_buckets, v_current[i]);
        IF v_slot IS NULL THEN
            v_buckets := v_buckets || v_current[i];
            v_counts := v_counts || p_cost;
        ELSE
            v_counts[v_slot] := v_counts[v_slot] + p_cost;
        END IF;
        v_width := p_periods[i]::double precision / p_buckets;
        IF v_found[i] THEN
            UPDATE integration_rate_limit_counter
               SET buckets = v_buckets, counts = v_counts,
                   expires_at = (v_current[i] + p_buckets + 1) * v_width
             WHERE key = p_key AND period = p_periods[i];
        END IF;
        -- New, or removed by the clean-up since it was read.
        IF NOT v_found[i] OR NOT FOUND THEN
            INSERT INTO integration_rate_limit_counter AS w
                   (key, period, buckets, counts, expires_at)
            VALUES (p_key, p_periods[i], v_buckets, v_counts,
                    (v_current[i] + p_buckets + 1) * v_width)
            ON CONFLICT (key, period) DO UPDATE
               SET buckets = EXCLUDED.buckets, counts = EXCLUDED.counts,
                   expires_at = EXCLUDED.expires_at;
        END IF;
    END LOOP;
    IF p_consume AND p_tally IS NOT NULL THEN
        INSERT INTO integration_rate_limit_tally AS t (name, field, value)
        VALUES (p_tally, CASE WHEN v_allowed THEN 'allowed' ELSE 'refused' END, 1)
        ON CONFLICT (name, field) DO UPDATE SET value = t.value + EXCLUDED.value;
    END IF;
END
$$;
"""


class PostgresStorage(Storage):
    """Counters in PostgreSQL, shared by every process and server of one
    database.

    ``connect`` returns a context manager giving a DB-API cursor on a
    connection of the limiter's own, at READ COMMITTED, whose work is
    committed when the block ends without error (autocommit will do): the
    counters must be written whatever becomes of the transaction of the
    request being limited (read-only, rolled back, or run again after a
    serialization failure). The tables and the function (``PG_SCHEMA``)
    must exist: :func:`install_postgres`.
    """

    def __init__(self, connect):
        self._connect = connect

    def _decide(self, key, limits, cost, consume, tally, now):
        with self._connect() as cr:
            cr.execute(
                "SELECT * FROM integration_rate_limit_decide("
                "%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    key,
                    [limit.quantity for limit in limits],
                    [limit.seconds for limit in limits],
                    cost,
                    consume,
                    now,
                    tally,
                    BUCKETS,
                ),
            )
            rows = cr.fetchall()
        windows = [
            (current, dict(zip(buckets, counts, strict=True)))
            for _allowed, _now, current, buckets, counts in rows
        ]
        return rows[0][0], rows[0][1], windows

    def count(self, tally, field, amount=1):
        with self._connect() as cr:
            cr.execute(
                "INSERT INTO integration_rate_limit_tally AS t (name, field, value) "
                "VALUES (%s, %s, %s) ON CONFLICT (name, field) "
                "DO UPDATE SET value = t.value + EXCLUDED.value",
                (tally, field, amount),
            )

    def drain(self, prefix="", cr=None):
        """See :meth:`Storage.drain`. With ``cr``, the counts are taken in
        that cursor's transaction: they come back if it rolls back."""
        if cr is None:
            with self._connect() as own:
                return self.drain(prefix, own)
        cr.execute(
            "DELETE FROM integration_rate_limit_tally WHERE starts_with(name, %s) "
            "RETURNING name, field, value",
            (prefix,),
        )
        tallies = {}
        for name, field, value in cr.fetchall():
            tallies.setdefault(name, {})[field] = value
        return tallies

    def clear(self, key, limits):
        with self._connect() as cr:
            cr.execute(
                "DELETE FROM integration_rate_limit_counter "
                "WHERE key = %s AND period = ANY(%s)",
                (key, [limit.seconds for limit in limits]),
            )

    def purge_expired(self, cr, now=None, batch=10000):
        """Removes windows whose every call has expired, ``batch`` at a
        time; returns how many went."""
        cr.execute(
            "DELETE FROM integration_rate_limit_counter WHERE ctid = ANY(ARRAY("
            "SELECT ctid FROM integration_rate_limit_counter WHERE expires_at < "
            "coalesce(%s, extract(epoch FROM clock_timestamp())::double precision) "
            "LIMIT %s))",
            (now, batch),
        )
        return cr.rowcount


def install_postgres(cr):
    """Creates or updates the tables and the function of :class:`PostgresStorage`."""
    cr.execute(PG_SCHEMA)


# Redis: one hash per key and period, bucket -> count, expiring with its
# newest bucket; one hash of tallies. The script reads the clock of the
# Redis server, the same for every process.
REDIS_DECIDE = """
local buckets = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local consume = ARGV[3] == '1'
local now = tonumber(ARGV[4])
if not now then
    local t = redis.call('TIME')
    now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local tally = ARGV[5]
local count = #KEYS - 1
local allowed = true
local windows = {}
for i = 1, count do
    local quantity = tonumber(ARGV[4 + 2 * i])
    local period = tonumber(ARGV[5 + 2 * i])
    local width = period / buckets
    local current = math.floor(now / width)
    local raw = redis.call('HGETALL', KEYS[i])
    local used, live, stale = 0, {}, {}
    for j = 1, #raw, 2 do
        local b, c = tonumber(raw[j]), tonumber(raw[j + 1])
        if b >= current - buckets then
            used = used + c
            live[#live + 1] = b
            live[#live + 1] = c
        else
            stale[#stale + 1] = raw[j]
        end
    end
    if used + cost > quantity then
        allowed = false
    end
    windows[i] = {current, width, live, stale}
end
local result = {allowed and 1 or 0, string.format('%.6f', now)}
for i = 1, count do
    local current, width, live, stale = unpack(windows[i])
    if consume and allowed then
        redis.call('HINCRBY', KEYS[i], string.format('%d', current), cost)
        if #stale > 0 then
            redis.call('HDEL', KEYS[i], unpack(stale))
        end
        local ttl = math.ceil(((current + buckets + 1) * width - now) * 1000)
        redis.call('PEXPIRE', KEYS[i], math.max(ttl, 1))
    end
    result[#result + 1] = {current, live}
end
if consume and tally ~= '' then
    local field = tally .. (allowed and '\\nallowed' or '\\nrefused')
    redis.call('HINCRBY', KEYS[count + 1], field, 1)
end
return result
"""

REDIS_DRAIN = """
local raw = redis.call('HGETALL', KEYS[1])
local prefix = ARGV[1]
local taken = {}
for i = 1, #raw, 2 do
    if string.sub(raw[i], 1, #prefix) == prefix then
        taken[#taken + 1] = raw[i]
        taken[#taken + 1] = raw[i + 1]
        redis.call('HDEL', KEYS[1], raw[i])
    end
end
return taken
"""


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
        for current, live in raw[2:]:
            counts = zip(live[::2], live[1::2], strict=True)
            windows.append((int(current), {int(b): int(c) for b, c in counts}))
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
