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

Adaptive pacing (:func:`adapt`): a receiver answering 429 or 503 is sending
more than it can take. Its endpoint's rate, stored on the endpoint's row and
so shared by every dispatcher, is then cut to ``PACE_DECREASE`` of what it
was (of what the receiver accepted in the last second when the endpoint had
no rate), at most once per ``PACE_HOLD`` seconds so that the requests
already on their way do not cut it again; every 2xx raises it by
``PACE_INCREASE`` (some 15 % a second) until it reaches the configured
``max_per_second`` again, or ``PACE_UNLIMITED`` for an endpoint without
one, which is then no longer throttled. A ``Retry-After`` pauses the whole
endpoint until then (:func:`pause`): its next free send slot moves there.
"""

import math
from datetime import UTC, datetime, timedelta

THROTTLE_HORIZON = 1.0  # seconds of send slots a dispatcher reserves ahead
# Seconds of slots ahead when a waiting dispatcher claims for a throttled
# endpoint again: half its horizon is free, so that a claim gets many slots.
CLAIM_AHEAD = THROTTLE_HORIZON / 2
SHORT_WAIT = 10  # seconds a dispatcher cron waits for a delivery at most
SHORT_WAIT_MIN = 0.1  # seconds waited at least, so that a wait never spins
NEW_RUN = "new run"  # linger(): the wait outlasts this run; trigger another
PACE_DECREASE = 0.9  # share of its rate an endpoint keeps after a 429 or 503
# Requests per second an endpoint's rate gains per 2xx: 15 % a second, so
# that a receiver refusing requests at random (not for their rate) does not
# drive the rate down, one cut a second being made up by the successes.
PACE_INCREASE = 0.15
# Requests per second an endpoint is slowed to at most: pacing tames bursts;
# a receiver that cannot take this many is given a max_per_second, or says
# so with a Retry-After, which pauses the endpoint.
PACE_MIN = 10.0
PACE_UNLIMITED = 1000.0  # requests per second beyond which pacing lets go
PACE_HOLD = 1.0  # seconds between two cuts of an endpoint's rate
PAUSE_CAP = 24 * 3600  # seconds a Retry-After may pause an endpoint


def effective_rate(limit, paced):
    """The rate an endpoint sends at: the lower of its configured ``limit``
    and its adaptive ``paced`` rate, either 0 for none; 0 when neither.

    >>> effective_rate(0, 0), effective_rate(10, 0), effective_rate(10, 4.5), \
effective_rate(0, 4.5)
    (0, 10, 4.5, 4.5)
    """
    rates = [rate for rate in (limit, paced) if rate]
    return min(rates) if rates else 0


def adapt(paced, limit, *, successes, throttled, accepted, now, cut_at):
    """An endpoint's adaptive rate after a batch: ``(paced rate, cut_at)``.

    ``paced`` is its adaptive rate (0: none), ``limit`` its configured
    ``max_per_second`` (0: none); the batch brought ``successes`` 2xx and,
    when ``throttled``, a 429 or 503; ``accepted`` is how many 2xx the
    receiver gave in the last second; ``cut_at`` (Unix time) when the rate
    was last cut. The rate cut is from the rate the endpoint sends at, or
    from twice what the receiver accepted when that is lower (a receiver
    far slower than the rate), or from what it accepted when it sends
    without a rate.

    >>> adapt(0, 0, successes=40, throttled=True, accepted=50, now=10, cut_at=0)
    (45.0, 10)
    >>> adapt(45.0, 0, successes=2, throttled=True, accepted=50, now=10.5, cut_at=10)
    (45.3, 10)
    >>> adapt(40.0, 0, successes=20, throttled=False, accepted=40, now=12, cut_at=10)
    (43.0, 10)
    >>> adapt(0, 8, successes=0, throttled=True, accepted=5, now=20, cut_at=10)
    (10.0, 20)
    >>> adapt(0, 40, successes=0, throttled=True, accepted=30, now=20, cut_at=10)
    (36.0, 20)
    >>> adapt(500.0, 0, successes=0, throttled=True, accepted=50, now=20, cut_at=10)
    (90.0, 20)
    >>> adapt(39.9, 40, successes=10, throttled=False, accepted=8, now=30, cut_at=20)
    (0, 20)
    >>> adapt(999.0, 0, successes=40, throttled=False, accepted=900, now=30, cut_at=0)
    (0, 0)
    >>> adapt(10.0, 0, successes=0, throttled=True, accepted=0, now=40, cut_at=0)
    (10.0, 40)

    A receiver refusing a fifth of the requests at random, whatever the
    rate, does not drive the rate down: a second's successes make up for a
    cut.

    >>> rate = 100.0
    >>> for second in range(30):
    ...     rate, _ = adapt(rate, 0, successes=0, throttled=True,
    ...                     accepted=rate * 0.8, now=second, cut_at=second - 1)
    ...     rate, _ = adapt(rate, 0, successes=rate * 0.8, throttled=False,
    ...                     accepted=rate * 0.8, now=second, cut_at=second)
    >>> rate > 100
    True
    """
    if throttled and now - cut_at >= PACE_HOLD:
        current = effective_rate(limit, paced)
        floor = max(accepted, 1)
        base = min(current, 2 * floor) if current else floor
        return max(round(base * PACE_DECREASE, 3), PACE_MIN), now
    if not paced:
        return 0, cut_at
    raised = round(paced + successes * PACE_INCREASE, 3)
    if raised >= (limit or PACE_UNLIMITED):
        return 0, cut_at  # back to the configured rate, or none
    return raised, cut_at


def pause(next_at, now, retry_after):
    """An endpoint's next free send slot (Unix time) once its receiver asked
    to wait ``retry_after`` seconds (None: did not ask).

    >>> pause(0.0, 100.0, 30), pause(200.0, 100.0, 30), pause(5.0, 100.0, None)
    (130.0, 200.0, 5.0)
    """
    if not retry_after:
        return next_at
    return max(next_at, now + min(float(retry_after), PAUSE_CAP))


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
