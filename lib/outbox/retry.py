"""When to try an outgoing webhook again, and what an answer means.

A delivery is tried at once; ``schedule[i]`` is the delay before retry
``i + 1``, stretched or shrunk by up to ``JITTER`` so that a receiver coming
back up is not hit by every waiting delivery in the same second. After the
last step fails the delivery is dead. A ``Retry-After`` on 429 or 503
replaces the step's delay; 410 means the receiver is gone for good.
"""

import enum
import random
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from ..messages import Refusal, _lt

DEFAULT_SCHEDULE = "5s,5m,30m,2h,5h,10h,10h,14h,20h,24h"
JITTER = 0.10  # fraction of a delay added or removed at random
RETRY_AFTER_CAP = 24 * 3600  # seconds; a receiver may not park a delivery longer
RETRY_AFTER_STATUSES = frozenset({429, 503})
# The one rule of success, for deliveries, test events, attempts and the
# endpoints' figures: any 2xx answer.
SUCCESS_MIN, SUCCESS_MAX = 200, 299
GONE = 410  # the receiver asks never to be called again

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_STEP = re.compile(r"^(\d+)\s*([smhd])$")


class Outcome(enum.Enum):
    """What one HTTP try of a delivery came to."""

    DELIVERED = "delivered"  # 2xx
    RETRY = "retry"  # 3xx, 4xx, 5xx, timeout, connection error, refused address
    GONE = "gone"  # 410: the receiver asks never to be called again


def parse_schedule(text):
    """Parses ``"5s,5m,2h"`` into delays in seconds.

    Units are s, m, h and d; raises ValueError naming the first bad step.

    >>> parse_schedule("5s, 5m,2h,1d")
    (5, 300, 7200, 86400)
    >>> try:
    ...     parse_schedule("5s,5x")
    ... except ValueError as exc:
    ...     print(exc)
    '5x' is not a delay such as 30s, 5m, 2h or 1d
    """
    steps = [step.strip() for step in (text or "").split(",")]
    if steps == [""]:
        raise Refusal(_lt("the retry schedule is empty"))
    delays = []
    for step in steps:
        match = _STEP.match(step.lower())
        if not match:
            if not step:
                raise Refusal(_lt("the retry schedule has an empty step"))
            raise Refusal(
                _lt("%(step)s is not a delay such as 30s, 5m, 2h or 1d"),
                step=repr(step),
            )
        delays.append(int(match[1]) * _UNITS[match[2]])
    return tuple(delays)


def jittered(delay, rng=random):
    """``delay`` moved at random by up to ``JITTER`` of itself, either way."""
    return delay * rng.uniform(1 - JITTER, 1 + JITTER)


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` header (delay in seconds or an
    HTTP date), capped at ``RETRY_AFTER_CAP``; None when absent or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = int(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        now = now or datetime.now(UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0), RETRY_AFTER_CAP)


def succeeded(status_code):
    """Whether an answer with ``status_code`` delivered the webhook (any 2xx;
    None, no answer, never does).

    >>> [succeeded(code) for code in (200, 204, 299, 300, 410, None)]
    [True, True, True, False, False, False]
    """
    return status_code is not None and SUCCESS_MIN <= status_code <= SUCCESS_MAX


def classify(status_code):
    """The outcome of an answer with ``status_code``; None (no answer: timeout,
    connection error, refused destination) is retried.

    >>> [classify(code).name for code in (201, 410, 503, None)]
    ['DELIVERED', 'GONE', 'RETRY', 'RETRY']
    """
    if succeeded(status_code):
        return Outcome.DELIVERED
    if status_code == GONE:
        return Outcome.GONE
    return Outcome.RETRY


def retry_delay(
    attempts_made, schedule, status_code=None, retry_after=None, rng=random
):
    """Seconds until the next try of a delivery whose ``attempts_made``-th try
    just failed, or None when the schedule is spent (the delivery is dead).

    ``retry_after`` is the raw ``Retry-After`` header; it replaces the step's
    delay on 429 and 503 but does not add a step.
    """
    step = attempts_made - 1
    if step >= len(schedule):
        return None
    if status_code in RETRY_AFTER_STATUSES:
        seconds = parse_retry_after(retry_after)
        if seconds is not None:
            return seconds
    return jittered(schedule[step], rng)
