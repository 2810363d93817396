"""When deliveries may go: throttle slots, and how long the cron lingers.

A throttled endpoint (``rate`` requests per second) hands out evenly spaced
send slots; a dispatcher reserves the slots of the next ``THROTTLE_HORIZON``
seconds on the endpoint's row, so that the rate holds across every
dispatcher, and its deliveries are not claimed before their slot comes
within that horizon.

A dispatcher cron with nothing left to send waits, within its run, for a
delivery falling due in the next ``SHORT_WAIT`` seconds (a first retry, an
expiring lease) rather than for the cron threads' next wake-up (every minute
when nothing wakes them). Odoo grants a cron run at least 10 seconds, and a
wait beyond the run's time gets the cron a new run instead.
"""

import math
from datetime import UTC, datetime, timedelta

THROTTLE_HORIZON = 1.0  # seconds of send slots a dispatcher reserves ahead
SHORT_WAIT = 10  # seconds a dispatcher cron waits for a delivery at most
SHORT_WAIT_MIN = 0.1  # seconds waited at least, so that a wait never spins
NEW_RUN = "new run"  # linger(): the wait outlasts this run; trigger another


def reserve_slots(now, next_at, rate, wanted, horizon=THROTTLE_HORIZON):
    """Send slots (Unix times) for up to ``wanted`` deliveries of an endpoint
    sending at most ``rate`` per second whose next free slot is ``next_at``,
    within ``horizon`` seconds of ``now``; and the endpoint's next free slot
    after them.

    >>> reserve_slots(now=100.0, next_at=0.0, rate=2, wanted=5, horizon=1.0)
    ([100.0, 100.5, 101.0], 101.5)
    >>> reserve_slots(now=100.0, next_at=100.8, rate=2, wanted=5, horizon=1.0)
    ([100.8], 101.3)
    >>> reserve_slots(now=100.0, next_at=102.0, rate=2, wanted=5, horizon=1.0)
    ([], 102.0)
    """
    start = max(now, next_at)
    free = math.floor((now + horizon - start) * rate) + 1
    taken = max(min(free, wanted), 0)
    if not taken:
        return [], next_at
    return [start + index / rate for index in range(taken)], start + taken / rate


def due_after_throttle(due, next_slot, horizon=THROTTLE_HORIZON):
    """When a delivery due at ``due`` (naive UTC) may be claimed, its
    throttled endpoint's next free slot being Unix time ``next_slot``.

    >>> due_after_throttle(datetime(1970, 1, 1), next_slot=61.0)
    datetime.datetime(1970, 1, 1, 0, 1)
    >>> due_after_throttle(datetime(1970, 1, 1, 1), next_slot=61.0)
    datetime.datetime(1970, 1, 1, 1, 0)
    """
    free = datetime.fromtimestamp(next_slot - horizon, UTC).replace(tzinfo=None)
    return max(due, free)


def linger(now, due, time_left, short_wait=SHORT_WAIT):
    """How a dispatcher cron with nothing to send now waits for the next
    delivery due at ``due`` (None: none): seconds to wait in this run,
    ``NEW_RUN`` when the wait outlasts the run's ``time_left`` seconds, or
    None when nothing falls due within ``short_wait`` seconds (the cron's
    next round takes it).

    >>> now = datetime(2026, 1, 1)
    >>> linger(now, now + timedelta(seconds=3), time_left=60)
    3.0
    >>> linger(now, now, time_left=60)
    0.1
    >>> linger(now, now + timedelta(seconds=3), time_left=2)
    'new run'
    >>> linger(now, now + timedelta(seconds=11), time_left=60) is None
    True
    """
    if due is None or due > now + timedelta(seconds=short_wait):
        return None
    wait = max((due - now).total_seconds(), SHORT_WAIT_MIN)
    return NEW_RUN if wait > time_left else wait
