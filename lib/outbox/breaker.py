"""The circuit breaker of an endpoint: stop hammering a receiver that is down.

An endpoint's circuit is ``closed`` while its receiver answers. When
``threshold`` tries in a row fail in a way that says the receiver is down or
overloaded (no answer: a connection error or a timeout; a 5xx; a 429), the
circuit *opens*: the dispatchers no longer claim the endpoint's deliveries.
After a cool-down (:func:`cool_down`: doubling with each failed probe,
capped, and never shorter than the largest ``Retry-After`` the receiver
asked for) ONE delivery is claimed as a probe and the circuit is
``half_open`` until its answer is recorded: a success closes the circuit and
the backlog goes out at once; a failure opens it again for a longer
cool-down. A probe whose dispatcher died is replaced once its own lease is
over, as any claimed delivery is.

Deliveries the circuit holds back are not tried, so their attempts and
their retry schedule are not spent. Other answers (a 4xx other than 429, a
3xx) say that the receiver is up and rejects one message: they neither
count towards the threshold nor reset it.

Within a batch, a dispatcher keeps at most :func:`window` requests in flight
to an endpoint whose receiver has not answered well since its last failure,
so that a receiver that is down gets about ``threshold`` requests from each
dispatcher before the circuit opens, not a whole batch.

:func:`after_try` decides the next :class:`Circuit` of an endpoint from the
tries of a batch, :func:`probe` what claiming the probe does; the dispatcher
stores them on the endpoint's row.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATES = [(CLOSED, "Closed"), (OPEN, "Open"), (HALF_OPEN, "Half-open")]
THRESHOLD = 5  # failures in a row that open the circuit, by default
THRESHOLD_PARAM = "integration_gateway.circuit_failure_threshold"
COOL_DOWN = 1.0  # seconds before the first probe
COOL_DOWN_CAP = 10.0  # seconds between probes at most, Retry-After aside
# Retry-After capped like a retry's (lib.outbox.retry.RETRY_AFTER_CAP).
RETRY_AFTER_CAP = 24 * 3600  # seconds

__all__ = [
    "CLOSED",
    "HALF_OPEN",
    "OPEN",
    "STATES",
    "THRESHOLD",
    "THRESHOLD_PARAM",
    "Circuit",
    "after_try",
    "cool_down",
    "counts",
    "outcome",
    "parse_threshold",
    "probe",
    "window",
]


@dataclass(frozen=True)
class Circuit:
    """An endpoint's circuit as stored on its row: ``state``, the failures
    in a row that count, how many probes failed since it opened
    (``trips``), when it opened and when the next probe may go (naive UTC
    datetimes, None while closed)."""

    state: str = CLOSED
    failures: int = 0
    trips: int = 0
    opened_at: datetime | None = None
    next_probe_at: datetime | None = None

    @property
    def closed(self):
        return self.state == CLOSED


def parse_threshold(value, default=THRESHOLD):
    """The threshold from the system parameter's text: a whole number of at
    least 1, ``default`` when unset or unreadable.

    >>> parse_threshold("3"), parse_threshold(None), parse_threshold("x"), \
parse_threshold("0"), parse_threshold(False)
    (3, 5, 5, 1, 5)
    """
    if value is None or value is False or value == "":
        return default
    try:
        return max(int(value), 1)
    except (TypeError, ValueError):
        return default


def counts(status_code):
    """Whether a try with this answer (None: no answer) counts as a failure
    of the receiver itself.

    >>> [counts(code) for code in (None, 500, 503, 429, 404, 301, 200)]
    [True, True, True, True, False, False, False]
    """
    return status_code is None or status_code == 429 or 500 <= status_code <= 599


def outcome(status_code):
    """What a sent request's answer (None: none) tells the breaker: True (a
    2xx), False (a failure that :func:`counts`) or None (neither).

    >>> [outcome(code) for code in (204, 503, None, 404)]
    [True, False, False, None]
    """
    if status_code is not None and 200 <= status_code <= 299:
        return True
    return False if counts(status_code) else None


def cool_down(trips, retry_after=None, base=COOL_DOWN, cap=COOL_DOWN_CAP):
    """Seconds before the next probe of a circuit opened for the
    ``trips``-th time in a row (0: first opening): doubling, capped at
    ``cap``, and at least the receiver's ``retry_after`` (seconds, capped
    at a day).

    >>> [cool_down(trips) for trips in range(6)]
    [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    >>> cool_down(0, retry_after=30), cool_down(0, retry_after=10**9)
    (30.0, 86400.0)
    """
    seconds = min(base * 2 ** min(trips, 32), cap)
    if retry_after:
        seconds = max(seconds, min(float(retry_after), RETRY_AFTER_CAP))
    return float(seconds)


def after_try(circuit, outcomes, now, threshold=THRESHOLD, retry_after=None):
    """The circuit after a batch's tries, ``outcomes`` being, in the order
    they ended, True (a 2xx), False (a failure that :func:`counts`) or None
    (an answer that neither opens nor closes it); ``retry_after`` the
    largest Retry-After (seconds) among them.

    >>> now = datetime(2026, 1, 1, 12)
    >>> c = after_try(Circuit(), [False] * 4, now)
    >>> c.state, c.failures
    ('closed', 4)
    >>> c = after_try(c, [None, False], now)
    >>> c.state, c.failures, c.trips, c.next_probe_at.second
    ('open', 5, 0, 1)
    >>> probing = probe(c, now, lease=20)
    >>> probing.state, probing.next_probe_at.second
    ('half_open', 20)
    >>> c = after_try(probing, [False], now, retry_after=3)
    >>> c.state, c.trips, c.opened_at == now, c.next_probe_at.second
    ('open', 1, True, 3)
    >>> after_try(probe(c, now, 20), [True], now)
    Circuit(state='closed', failures=0, trips=0, opened_at=None, next_probe_at=None)

    A success and failures after it in the same batch: the failures count.

    >>> after_try(Circuit(failures=3), [True, False, False], now).failures
    2
    """
    state, failures, trips = circuit.state, circuit.failures, circuit.trips
    opened_at, next_probe_at = circuit.opened_at, circuit.next_probe_at
    for outcome in outcomes:
        if outcome is True:
            state, failures, trips = CLOSED, 0, 0
            opened_at = next_probe_at = None
        elif outcome is False:
            failures += 1
            if state == HALF_OPEN:
                # The probe failed: open again, longer.
                state, trips = OPEN, trips + 1
                next_probe_at = now + timedelta(seconds=cool_down(trips, retry_after))
            elif state == CLOSED and failures >= threshold:
                state, opened_at = OPEN, now
                next_probe_at = now + timedelta(seconds=cool_down(trips, retry_after))
    return replace(
        circuit,
        state=state,
        failures=failures,
        trips=trips,
        opened_at=opened_at,
        next_probe_at=next_probe_at,
    )


def probe(circuit, now, lease):
    """The circuit once a probe is claimed: half-open until the probe's
    answer is recorded, or until its ``lease`` (seconds) is over, when
    another probe may go (its dispatcher died).

    >>> probe(Circuit(OPEN, 5), datetime(2026, 1, 1), 20).next_probe_at
    datetime.datetime(2026, 1, 1, 0, 0, 20)
    """
    return replace(
        circuit, state=HALF_OPEN, next_probe_at=now + timedelta(seconds=lease)
    )


def window(failures, answered, threshold=THRESHOLD, concurrency=16):
    """How many requests a dispatcher keeps in flight to one endpoint: all
    it may (``concurrency``) once the receiver ``answered`` with a 2xx since
    its last failure, otherwise what is left before ``threshold`` failures
    in a row (``failures`` so far, those in flight included), at least one.

    >>> window(0, answered=True), window(0, answered=False)
    (16, 5)
    >>> window(3, answered=False), window(9, answered=False)
    (2, 1)
    """
    if answered:
        return concurrency
    return max(threshold - failures, 1)
