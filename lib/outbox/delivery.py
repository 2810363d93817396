"""The life of one delivery: what an HTTP try does to it.

A delivery is written ``pending`` in the transaction of the business change,
claimed into ``sending`` by a dispatcher (with a lease), then tried:

* a 2xx makes it ``delivered``;
* a 410 leaves it ``pending``: its endpoint gets disabled, and the delivery
  waits for the endpoint to be enabled again;
* anything else (another status, a timeout, a refused address) makes it
  ``retrying`` after the next step of its endpoint's retry schedule, or
  ``dead`` once the schedule is spent;
* a delivery released unsent (it could not have finished within its lease)
  goes back to waiting, due at once, its attempts unchanged.

``cancelled`` is set by people, never by the dispatcher. A test event is
tried once and never retried: delivered or dead, whatever the answer.

:func:`transition` decides all of this without a database; the dispatcher
stores its :class:`Step`.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from . import retry
from .sender import Result  # what transition() reads of a try

STATES = [
    ("pending", "Pending"),
    ("sending", "Sending"),
    ("retrying", "Retrying"),
    ("delivered", "Delivered"),
    ("dead", "Dead"),
    ("cancelled", "Cancelled"),
]
WAITING_STATES = ("pending", "retrying")  # due at ``next_attempt_at``
ERROR_EXCERPT_CHARS = 200  # of the answer, in a delivery's last error

__all__ = [
    "ERROR_EXCERPT_CHARS",
    "STATES",
    "WAITING_STATES",
    "Result",
    "Step",
    "attempt_row",
    "delivery_row",
    "error_text",
    "started_at",
    "test_event",
    "transition",
    "utcnow",
]


@dataclass(frozen=True)
class Step:
    """A delivery's next state after one try (or release).

    ``due`` is its next attempt time, None once it is settled; ``status``
    and ``error`` are those of the try (both None when it was released
    unsent); ``attempted`` says whether an attempt is to be recorded, and
    ``gone`` whether the receiver answered 410."""

    state: str
    attempts: int
    due: datetime | None = None
    status: int | None = None
    error: str | None = None
    delivered_at: datetime | None = None
    attempted: bool = True
    succeeded: bool = False
    gone: bool = False


def utcnow():
    """Now, as a naive UTC datetime with microseconds (Odoo's storage
    convention; the precision matters for retries seconds apart)."""
    return datetime.now(UTC).replace(tzinfo=None)


def started_at(result):
    """When a try started, as a naive UTC datetime (Odoo's storage).

    >>> started_at(_tried(started_at=0.25))
    datetime.datetime(1970, 1, 1, 0, 0, 0, 250000)
    """
    return datetime.fromtimestamp(result.started_at, UTC).replace(tzinfo=None)


def error_text(result):
    """One line saying why an attempt failed.

    >>> error_text(_tried(error="timed out after 5 s"))
    'timed out after 5 s'
    >>> error_text(_tried(status_code=500, response_excerpt="  Oops,\\n  down "))
    'HTTP 500: Oops, down'
    >>> error_text(_tried(status_code=404))
    'HTTP 404'
    """
    if result.error:
        return result.error
    excerpt = " ".join((result.response_excerpt or "").split())
    excerpt = excerpt[:ERROR_EXCERPT_CHARS]
    return f"HTTP {result.status_code}" + (f": {excerpt}" if excerpt else "")


def transition(attempts, result, schedule, now, rng=random, *, retries=True):
    """The :class:`Step` of a delivery that had made ``attempts`` tries and
    got ``result`` (a :class:`~.sender.Result`) now, with the retry
    ``schedule`` of its endpoint (delays in seconds). Without ``retries``
    (a test event), a failed try is final.

    >>> now = datetime(2026, 1, 1, 12, 0)
    >>> ok = transition(0, _tried(status_code=204), (5, 60), now)
    >>> ok.state, ok.attempts, ok.due, ok.error, ok.delivered_at == started_at(_R0)
    ('delivered', 1, None, None, True)
    >>> late = transition(1, _tried(status_code=500), (5, 60), now, _Low())
    >>> late.state, late.attempts, late.due, late.error
    ('retrying', 2, datetime.datetime(2026, 1, 1, 12, 0, 54), 'HTTP 500')
    >>> transition(2, _tried(error="refused"), (5, 60), now).state
    'dead'
    >>> gone = transition(0, _tried(status_code=410), (5, 60), now)
    >>> gone.state, gone.due == now, gone.gone
    ('pending', True, True)
    >>> unsent = transition(3, _tried(sent=False), (5, 60), now)
    >>> unsent.state, unsent.attempts, unsent.attempted, unsent.status
    ('retrying', 3, False, None)
    >>> transition(0, _tried(status_code=410), (5, 60), now, retries=False).state
    'dead'
    """
    if not result.sent:
        state = WAITING_STATES[1] if attempts else WAITING_STATES[0]
        return Step(state, attempts, due=now, attempted=False)
    attempts += 1
    status, outcome = result.status_code, retry.classify(result.status_code)
    if outcome is retry.Outcome.DELIVERED:
        return Step(
            "delivered",
            attempts,
            status=status,
            delivered_at=started_at(result),
            succeeded=True,
        )
    error, gone = error_text(result), outcome is retry.Outcome.GONE
    if not retries:
        return Step("dead", attempts, status=status, error=error, gone=gone)
    if gone:
        # The endpoint gets disabled; the delivery waits for it in pending.
        return Step("pending", attempts, now, status, error, gone=True)
    delay = retry.retry_delay(attempts, schedule, status, result.retry_after, rng)
    if delay is None:
        return Step("dead", attempts, status=status, error=error)
    return Step("retrying", attempts, now + timedelta(seconds=delay), status, error)


def delivery_row(step):
    """The columns of a delivery that ``step`` sets, in the order the
    dispatcher stores them.

    >>> delivery_row(Step("retrying", 2, status=500, error="HTTP 500"))
    {'state': 'retrying', 'attempt_count': 2, 'next_attempt_at': None, \
'last_status_code': 500, 'last_error': 'HTTP 500', 'delivered_at': None}
    """
    return {
        "state": step.state,
        "attempt_count": step.attempts,
        "next_attempt_at": step.due,
        "last_status_code": step.status,
        "last_error": step.error,
        "delivered_at": step.delivered_at,
    }


def attempt_row(result, step):
    """The columns of the attempt a try that came to ``step`` records, in
    the order the dispatcher stores them.

    >>> attempt_row(_tried(status_code=204, duration_ms=12), Step("delivered", 1))
    {'started_at': datetime.datetime(1970, 1, 1, 0, 0), 'duration_ms': 12, \
'status_code': 204, 'response_excerpt': None, 'error': None, 'succeeded': False}
    """
    return {
        "started_at": started_at(result),
        "duration_ms": result.duration_ms,
        "status_code": result.status_code,
        "response_excerpt": result.response_excerpt or None,
        "error": result.error,
        "succeeded": step.succeeded,
    }


def test_event(result):
    """The :class:`Step` of a test event after its single try: delivered or
    dead, never retried.

    >>> test_event(_tried(status_code=200)).state
    'delivered'
    >>> step = test_event(_tried(status_code=503, retry_after="5"))
    >>> step.state, step.attempts, step.due, step.error
    ('dead', 1, None, 'HTTP 503')
    """
    return transition(0, result, (), started_at(result), retries=False)


# -- for the examples above -------------------------------------------------


def _tried(**values):
    """A Result started at the epoch, for the examples."""
    return Result(**{"started_at": 0.0, **values})


_R0 = _tried()


class _Low:
    """A random source that always picks the low end (no jitter upwards)."""

    def uniform(self, low, high):
        return low
