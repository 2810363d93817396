"""The addon's Prometheus series, built from figures read in PostgreSQL.

Nothing is counted in a process's memory: prefork workers and several
servers share one database, and a scrape must give one truth whichever
worker answers it. The model ``integration.metrics`` reads a
:class:`Snapshot` (plain tuples, one query per kind of figure),
:func:`families` turns it into metric families and :func:`render` writes
them in the text exposition format 0.0.4, or OpenMetrics when the scraper
asks for it (:mod:`.metrics_exposition`, checked against
``prometheus_client``).

Series (all prefixed ``odoo_integration_``; endpoints are labelled by
``endpoint_id`` and ``endpoint`` (its name), keys by ``key_id`` and ``key``,
validators by ``validator_id`` and ``validator``: one series per configured
thing, never per delivery or call):

* ``webhook_deliveries`` (gauge) by endpoint and ``state``: the deliveries
  waiting (``pending``, ``retrying``, ``sending``) and ``dead`` now;
* ``webhook_oldest_waiting_seconds`` (gauge) per endpoint with waiting ones;
* ``webhook_attempts_total`` (counter) by endpoint and ``status_class``
  (``2xx`` ... ``5xx``, ``error`` when no answer came) and
  ``webhook_attempt_duration_seconds`` (histogram) per endpoint, from
  counters the dispatchers maintain: retention never makes them go back;
* ``webhook_endpoint_disabled``, ``webhook_endpoint_consecutive_failures``
  (gauges) per endpoint; ``webhook_endpoint_circuit_state`` once the circuit
  breaker gives its rows (:func:`circuit_family`);
* ``api_calls_total``, ``api_rate_limited_total``, ``api_denied_total``
  (counters) per key, from the daily usage rows;
* ``rate_limit_backend_errors_total`` (counter) by ``backend``;
* ``incoming_accepted_total`` by validator and ``incoming_rejected_total``
  by validator and ``reason`` (counters).
"""

import hmac
from bisect import bisect_left
from dataclasses import dataclass, field

from .metrics_exposition import encode

PREFIX = "odoo_integration_"
# Upper bounds (seconds) of the attempt duration histogram's buckets: from a
# fast receiver on the same network to the longest timeout an endpoint has.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "error")
ENDPOINT_LABELS = ("endpoint_id", "endpoint")
CIRCUIT_STATES = ("closed", "open", "half_open")


def status_class(status_code):
    """The label of an attempt's answer: its HTTP status class, or
    ``error`` when no answer came (timeout, connection refused, ...).

    >>> status_class(204), status_class(503), status_class(None), status_class(0)
    ('2xx', '5xx', 'error', 'error')
    >>> status_class(302), status_class(99)
    ('3xx', 'error')
    """
    if not status_code or not 200 <= status_code <= 599:
        return "error"
    return f"{status_code // 100}xx"


def bucket_counts(durations_ms):
    """How many of ``durations_ms`` fall in each bucket of
    ``DURATION_BUCKETS``, then above the last (not cumulative: rows of
    counts add up bucket by bucket).

    >>> bucket_counts([10, 50, 51, 700, 61000])
    [2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]
    """
    counts = [0] * (len(DURATION_BUCKETS) + 1)
    for duration in durations_ms:
        counts[bisect_left(DURATION_BUCKETS, (duration or 0) / 1000)] += 1
    return counts


@dataclass
class Snapshot:
    """The figures of one scrape, as read from the database.

    ``endpoints``: ``{id: (name, disabled, consecutive failures)}``;
    ``deliveries``: ``(endpoint id, state, count)``; ``oldest``:
    ``(endpoint id, age in seconds)``; ``attempts``: ``(endpoint id,
    status class, count, duration sum in ms, bucket counts)`` (several rows
    of one endpoint and class add up); ``api``: ``(key id, key name,
    calls, 429s, denials)``; ``accepted``: ``(validator id, name, count)``;
    ``rejected``: ``(validator id, name, reason, count)``;
    ``backend_errors``: ``(backend, count)``; ``circuits``: ``(endpoint
    id, state)``.
    """

    endpoints: dict = field(default_factory=dict)
    deliveries: list = field(default_factory=list)
    oldest: list = field(default_factory=list)
    attempts: list = field(default_factory=list)
    api: list = field(default_factory=list)
    accepted: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    backend_errors: list = field(default_factory=list)
    circuits: list = field(default_factory=list)


@dataclass
class Family:
    """One metric family, whatever writes it out: ``name`` without the
    ``_total`` of counters, ``kind`` (counter, gauge, histogram), ``labels``
    (names), and ``rows`` of (label values, value); a histogram's value is
    (cumulative bucket counts, one per ``DURATION_BUCKETS`` bound and
    ``+Inf``, sum) and ``bounds`` those bounds."""

    name: str
    kind: str
    help: str
    labels: tuple
    unit: str = ""
    rows: list = field(default_factory=list)
    bounds: tuple = ()  # a histogram's bucket upper bounds, +Inf last


def _endpoint_values(snapshot, endpoint_id):
    return (str(endpoint_id), snapshot.endpoints[endpoint_id][0])


def outbox_families(snapshot):
    """The outgoing webhooks' series of ``snapshot``; rows of endpoints it
    does not know (deleted or archived since) are left out."""
    known = snapshot.endpoints
    deliveries = Family(
        PREFIX + "webhook_deliveries",
        "gauge",
        "Webhook deliveries waiting (pending, retrying, sending) or dead, now.",
        (*ENDPOINT_LABELS, "state"),
    )
    for endpoint_id, state, count in snapshot.deliveries:
        if endpoint_id in known:
            values = _endpoint_values(snapshot, endpoint_id)
            deliveries.rows.append(((*values, state), count))
    oldest = Family(
        PREFIX + "webhook_oldest_waiting_seconds",
        "gauge",
        "Age of the oldest delivery waiting to be sent, per endpoint.",
        ENDPOINT_LABELS,
        "seconds",
    )
    for endpoint_id, age in snapshot.oldest:
        if endpoint_id in known:
            oldest.rows.append((_endpoint_values(snapshot, endpoint_id), max(age, 0.0)))
    disabled = Family(
        PREFIX + "webhook_endpoint_disabled",
        "gauge",
        "1 when the endpoint was disabled for failing, 0 otherwise.",
        ENDPOINT_LABELS,
    )
    failures = Family(
        PREFIX + "webhook_endpoint_consecutive_failures",
        "gauge",
        "Failed attempts since the endpoint's last success.",
        ENDPOINT_LABELS,
    )
    for endpoint_id, (_name, is_disabled, failed) in sorted(known.items()):
        values = _endpoint_values(snapshot, endpoint_id)
        disabled.rows.append((values, 1 if is_disabled else 0))
        failures.rows.append((values, failed))
    return [deliveries, oldest, *_attempt_families(snapshot), disabled, failures]


def _attempt_families(snapshot):
    by_class, by_endpoint = {}, {}
    size = len(DURATION_BUCKETS) + 1
    for endpoint_id, klass, count, duration_ms, buckets in snapshot.attempts:
        if endpoint_id not in snapshot.endpoints:
            continue
        by_class[endpoint_id, klass] = by_class.get((endpoint_id, klass), 0) + count
        total = by_endpoint.get(endpoint_id)
        if total is None:
            total = by_endpoint[endpoint_id] = [0, [0] * size]
        total[0] += duration_ms
        counts = total[1]
        for index, value in enumerate(buckets[:size]):
            counts[index] += value
    attempts = Family(
        PREFIX + "webhook_attempts",
        "counter",
        "HTTP attempts of webhook deliveries, by class of answer (error: none).",
        (*ENDPOINT_LABELS, "status_class"),
    )
    for (endpoint_id, klass), count in sorted(by_class.items()):
        values = _endpoint_values(snapshot, endpoint_id)
        attempts.rows.append(((*values, klass), count))
    durations = Family(
        PREFIX + "webhook_attempt_duration_seconds",
        "histogram",
        "Duration of webhook attempts, from connecting to the end of the answer.",
        ENDPOINT_LABELS,
        "seconds",
        bounds=(*DURATION_BUCKETS, float("inf")),
    )
    for endpoint_id, (duration_ms, counts) in sorted(by_endpoint.items()):
        cumulative, running = [], 0
        for count in counts:
            running += count
            cumulative.append(running)
        durations.rows.append(
            (_endpoint_values(snapshot, endpoint_id), (cumulative, duration_ms / 1000))
        )
    return [attempts, durations]


def circuit_family(snapshot):
    """``webhook_endpoint_circuit_state``: 1 for the state each endpoint's
    circuit breaker is in, 0 for the others (one series per state, as
    Prometheus' enum convention has it); no family without circuit rows.

    >>> snap = Snapshot(endpoints={3: ("Shop", False, 0)}, circuits=[(3, "open")])
    >>> [(values[2], value) for values, value in circuit_family(snap)[0].rows]
    [('closed', 0), ('open', 1), ('half_open', 0)]
    >>> circuit_family(Snapshot())
    []
    """
    if not snapshot.circuits:
        return []
    family = Family(
        PREFIX + "webhook_endpoint_circuit_state",
        "gauge",
        "Circuit breaker state of the endpoint (1 for the current state).",
        (*ENDPOINT_LABELS, "state"),
    )
    for endpoint_id, current in snapshot.circuits:
        if endpoint_id not in snapshot.endpoints:
            continue
        values = _endpoint_values(snapshot, endpoint_id)
        for state in CIRCUIT_STATES:
            family.rows.append(((*values, state), 1 if state == current else 0))
    return [family]


def api_families(snapshot):
    """The API keys' and rate limiter's series of ``snapshot``."""
    families = []
    for index, (name, text) in enumerate(
        (
            ("api_calls", "Calls authenticated with the API key."),
            ("api_rate_limited", "Calls of the API key refused for its rate limit."),
            ("api_denied", "Calls of the API key its policy refused."),
        ),
        start=2,
    ):
        family = Family(PREFIX + name, "counter", text, ("key_id", "key"))
        for row in snapshot.api:
            family.rows.append(((str(row[0] or ""), row[1] or ""), row[index] or 0))
        families.append(family)
    errors = Family(
        PREFIX + "rate_limit_backend_errors",
        "counter",
        "Rate-limit decisions or counts the backend could not make (unreachable).",
        ("backend",),
    )
    for backend, count in snapshot.backend_errors:
        errors.rows.append(((backend,), count))
    return [*families, errors]


def incoming_families(snapshot):
    """The incoming webhooks' series of ``snapshot``."""
    accepted = Family(
        PREFIX + "incoming_accepted",
        "counter",
        "Calls to validated incoming webhooks that passed every check.",
        ("validator_id", "validator"),
    )
    for validator_id, name, count in snapshot.accepted:
        accepted.rows.append(((str(validator_id), name or ""), count))
    rejected = Family(
        PREFIX + "incoming_rejected",
        "counter",
        "Calls to validated incoming webhooks refused, by reason.",
        ("validator_id", "validator", "reason"),
    )
    for validator_id, name, reason, count in snapshot.rejected:
        rejected.rows.append(((str(validator_id), name or "", reason), count))
    return [accepted, rejected]


def families(snapshot):
    """Every family of ``snapshot``, in the order they are written."""
    return [
        *outbox_families(snapshot),
        *circuit_family(snapshot),
        *api_families(snapshot),
        *incoming_families(snapshot),
    ]


def render(snapshot, accept=None):
    """``(body, content type)`` of ``snapshot`` in the format the scraper's
    ``Accept`` header asks for: OpenMetrics for ``application/openmetrics-text``,
    the text format 0.0.4 otherwise (see :mod:`.metrics_exposition`).

    >>> snap = Snapshot(endpoints={3: ("Shop", False, 2)},
    ...                 attempts=[(3, "5xx", 2, 1500, bucket_counts([500, 1000]))])
    >>> body, kind = render(snap)
    >>> kind
    'text/plain; version=0.0.4; charset=utf-8'
    >>> lines = body.decode().splitlines()
    >>> [line for line in lines if line.startswith("# TYPE")][2:4]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['# TYPE odoo_integration_webhook_attempts_total counter',
     '# TYPE odoo_integration_webhook_attempt_duration_seconds histogram']
    >>> [line.split()[-1] for line in lines if 'status_class="5xx"' in line]
    ['2']
    >>> [line.split()[-1] for line in lines if 'le="1.0"' in line]
    ['2']
    >>> body, kind = render(snap, "application/openmetrics-text; version=1.0.0")
    >>> kind.split(";")[0], body.decode().endswith("# EOF\\n")
    ('application/openmetrics-text', True)
    """
    openmetrics = "application/openmetrics-text" in (accept or "")
    return encode(families(snapshot), openmetrics=openmetrics)


def token_matches(expected, presented):
    """Whether ``presented`` is the metrics token ``expected`` (which must
    be set), compared in constant time.

    >>> token_matches("s3cret", "s3cret"), token_matches("s3cret", "s3creT")
    (True, False)
    >>> token_matches("", ""), token_matches(False, "x")
    (False, False)
    """
    return bool(expected) and hmac.compare_digest(
        expected.encode(), (presented or "").encode()
    )
