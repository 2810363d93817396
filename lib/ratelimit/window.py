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


def window_expired(expires_at, now):
    """Whether every call of a window whose newest call leaves it at
    ``expires_at`` (None: not known) has left it by ``now``: the storages
    then count none of its buckets.

    >>> window_expired(160.0, 159.9), window_expired(160.0, 160.0)
    (False, True)
    """
    return expires_at is not None and expires_at <= now


def make_decision(limits, now, windows, allowed, cost=1, consumed=False):
    """Builds the :class:`Decision` from what a storage read.

    ``windows`` holds, for each limit, ``(current bucket, {bucket: count},
    expires_at)`` as read BEFORE the call was counted; ``expires_at`` is
    when the window's newest call leaves it (that call's time plus the
    period, None when the storage does not know it): the newest bucket
    leaves then rather than a whole bucket later, so that a client is never
    told to wait longer than the period. ``consumed`` says the call was
    counted (then ``cost`` is added to the current bucket here).

    >>> minute = Limit(1, 60, "minute")
    >>> made = make_decision((minute,), 100.5, [(100, {}, None)], True, consumed=True)
    >>> made.reset
    60.0
    >>> refused = make_decision((minute,), 130.0, [(130, {100: 1}, 160.5)], False)
    >>> refused.retry_after, refused.reset
    (30.5, 30.5)
    """
    states = []
    for limit, window in zip(limits, windows, strict=True):
        current, counts = window[0], window[1]
        expires_at = window[2] if len(window) > 2 else None
        oldest = current - BUCKETS
        if window_expired(expires_at, now):
            counts, expires_at = {}, None
        live = {b: c for b, c in counts.items() if b >= oldest and c > 0}
        if consumed:
            live[current] = live.get(current, 0) + cost
            expires_at = max(expires_at or now, now + limit.seconds)
        ordered = sorted(live.items())
        used = sum(live.values())
        leaves = _leaving_times(limit, ordered, expires_at)
        states.append(
            LimitState(
                limit=limit,
                used=used,
                remaining=max(0, limit.quantity - used),
                reset=_within_period(limit, leaves[-1] - now if leaves else 0.0),
                wait=_within_period(
                    limit, _wait(limit, ordered, leaves, used, cost, now)
                ),
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


def _leaving_times(limit, ordered, expires_at):
    """When the calls of each of the ``ordered`` live buckets leave the
    window: a bucket is counted whole until the window no longer overlaps
    it, BUCKETS + 1 buckets after its start, except the newest, whose calls
    are all out once the newest call is (``expires_at``)."""
    width = bucket_width(limit)
    leaves = [(bucket + BUCKETS + 1) * width for bucket, _count in ordered]
    if leaves and expires_at is not None:
        leaves[-1] = min(leaves[-1], expires_at)
    return leaves


def _within_period(limit, seconds):
    """``seconds`` of waiting, never below 0 nor above the period: a call
    leaves a window at most one period after it was made (a longer figure
    only comes from clocks stepping back or float rounding); infinite when
    no wait would do."""
    if math.isinf(seconds):
        return seconds
    return min(max(0.0, seconds), float(limit.seconds))


def _wait(limit, ordered, leaves, used, cost, now):
    """Seconds until ``cost`` more calls fit in ``limit``: the oldest buckets
    leave the window one by one until enough calls have left with them."""
    excess = used + cost - limit.quantity
    if excess <= 0:
        return 0.0
    if cost > limit.quantity:
        return math.inf
    freed = 0
    for (_bucket, count), leaves_at in zip(ordered, leaves, strict=True):
        freed += count
        if freed >= excess:
            return max(0.0, leaves_at - now)
    return math.inf  # unreachable: the buckets hold ``used`` calls
