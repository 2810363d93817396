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
so shared by every dispatcher, is then cut to ``PACE_DECREASE`` of what the
receiver accepted in the last second (of the rate it sends at, when that is
lower), at most once per ``PACE_HOLD`` seconds so that the requests already
on their way do not cut it again; every 2xx raises it by ``PACE_INCREASE``
(some 5 % a second) until it reaches the configured ``max_per_second``
again, or ``PACE_UNLIMITED`` for an endpoint without one, which is then no
longer throttled. The cut is from what the receiver took, not from the rate
asked of it: a receiver refusing beyond 50 requests a second is paced just
under 50 after its first refusals, whatever the rate was, and the slow rise
then touches its limit now and then rather than overrunning it. A receiver
refusing requests at random, whatever the rate, is slowed down to
``PACE_MIN``: a 503 asks for less. A ``Retry-After`` pauses the whole
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
# Share of what the receiver accepted in the last second that an endpoint is
# paced at after a 429 or 503: just under what the receiver takes.
PACE_DECREASE = 0.9
# Requests per second an endpoint's rate gains per 2xx: 5 % a second at the
# rate it sends at. Slow enough that a rate cut just under a receiver's
# limit stays under it for seconds and overruns it by little when it
# reaches it again (the receiver's refusals cut it within a fraction of a
# second); a paced endpoint gets back to 10 times its rate in under a minute
# of successes.
PACE_INCREASE = 0.05
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
    was last cut. A cut is from what the receiver accepted, or from the rate
    the endpoint sends at when that is lower.

    >>> adapt(0, 0, successes=40, throttled=True, accepted=50, now=10, cut_at=0)
    (45.0, 10)
    >>> adapt(45.0, 0, successes=2, throttled=True, accepted=50, now=10.5, cut_at=10)
    (45.1, 10)
    >>> adapt(40.0, 0, successes=20, throttled=False, accepted=40, now=12, cut_at=10)
    (41.0, 10)
    >>> adapt(0, 8, successes=0, throttled=True, accepted=5, now=20, cut_at=10)
    (10.0, 20)
    >>> adapt(0, 40, successes=0, throttled=True, accepted=30, now=20, cut_at=10)
    (27.0, 20)
    >>> adapt(500.0, 0, successes=0, throttled=True, accepted=50, now=20, cut_at=10)
    (45.0, 20)
    >>> adapt(70.0, 0, successes=0, throttled=True, accepted=200, now=20, cut_at=10)
    (63.0, 20)
    >>> adapt(39.99, 40, successes=10, throttled=False, accepted=8, now=30, cut_at=20)
    (0, 20)
    >>> adapt(999.0, 0, successes=40, throttled=False, accepted=900, now=30, cut_at=0)
    (0, 0)
    >>> adapt(10.0, 0, successes=0, throttled=True, accepted=0, now=40, cut_at=0)
    (10.0, 40)

    A receiver taking 50 requests in any second, refusing the others with
    429, from an endpoint with a backlog and no rate of its own: after the
    first second's refusals the rate stays within a few requests of 50, and
    at least 98 % of the requests of the next minute are accepted.

    >>> rate, cut_at, sent, refused = 0, 0, 0, 0
    >>> for tenth in range(600):
    ...     now = tenth / 10
    ...     asked = (rate or 200) / 10  # requests in this tenth of a second
    ...     taken = min(asked, 5)  # the receiver's 50 a second
    ...     rate, cut_at = adapt(rate, 0, successes=taken, throttled=taken < asked,
    ...                          accepted=taken * 10, now=now, cut_at=cut_at)
    ...     if now >= 1:
    ...         sent, refused = sent + asked, refused + asked - taken
    >>> 45 <= rate <= 51, round(1 - refused / sent, 2) >= 0.98
    (True, True)
    """
    if throttled and now - cut_at >= PACE_HOLD:
        current = effective_rate(limit, paced)
        base = min(current, accepted) if current else accepted
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
