"""The sliding-window strategy: ``BUCKETS`` buckets per window, and the
:class:`Decision` every storage's buckets are turned into the same way.

>>> minute = Limit(100, 60, "minute")
>>> bucket_width(minute), current_bucket(minute, now=125.0)
(1.0, 125)
"""

import math
from dataclasses import dataclass

from .item import Limit

BUCKETS = 60  # per window: a minute is counted in one-second buckets


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
