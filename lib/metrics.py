"""The addon's Prometheus series, built from figures read in PostgreSQL.

Nothing is counted in a process's memory: prefork workers and several
servers share one database, and a scrape must give one truth whichever
worker answers it. The model ``integration.metrics`` reads a
:class:`Snapshot` (plain tuples, one query per kind of figure) and
:func:`render` turns it into the text exposition format 0.0.4, or
OpenMetrics when the scraper asks for it, through ``prometheus_client``'s
own encoders and a collector that yields this snapshot only.

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

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

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


def add_buckets(total, counts):
    """``total`` with ``counts`` added bucket by bucket (either may be
    shorter, e.g. after buckets were added).

    >>> add_buckets([1, 2], [1, 1, 1])
    [2, 3, 1]
    """
    size = max(len(total), len(counts))
    return [
        (total[i] if i < len(total) else 0) + (counts[i] if i < len(counts) else 0)
        for i in range(size)
    ]


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


def _endpoint_labels(snapshot, endpoint_id):
    return [str(endpoint_id), snapshot.endpoints[endpoint_id][0]]


def outbox_families(snapshot):
    """The outgoing webhooks' series of ``snapshot``; rows of endpoints it
    does not know (deleted since) are left out."""
    known = snapshot.endpoints
    deliveries = GaugeMetricFamily(
        PREFIX + "webhook_deliveries",
        "Webhook deliveries waiting (pending, retrying, sending) or dead, now.",
        labels=[*ENDPOINT_LABELS, "state"],
    )
    for endpoint_id, state, count in snapshot.deliveries:
        if endpoint_id in known:
            labels = _endpoint_labels(snapshot, endpoint_id)
            deliveries.add_metric([*labels, state], count)
    oldest = GaugeMetricFamily(
        PREFIX + "webhook_oldest_waiting_seconds",
        "Age of the oldest delivery waiting to be sent, per endpoint.",
        labels=list(ENDPOINT_LABELS),
        unit="seconds",
    )
    for endpoint_id, age in snapshot.oldest:
        if endpoint_id in known:
            oldest.add_metric(_endpoint_labels(snapshot, endpoint_id), max(age, 0.0))
    disabled = GaugeMetricFamily(
        PREFIX + "webhook_endpoint_disabled",
        "1 when the endpoint was disabled for failing, 0 otherwise.",
        labels=list(ENDPOINT_LABELS),
    )
    failures = GaugeMetricFamily(
        PREFIX + "webhook_endpoint_consecutive_failures",
        "Failed attempts since the endpoint's last success.",
        labels=list(ENDPOINT_LABELS),
    )
    for endpoint_id, (_name, is_disabled, failed) in sorted(known.items()):
        labels = _endpoint_labels(snapshot, endpoint_id)
        disabled.add_metric(labels, 1 if is_disabled else 0)
        failures.add_metric(labels, failed)
    return [deliveries, oldest, *_attempt_families(snapshot), disabled, failures]


def _attempt_families(snapshot):
    by_class, by_endpoint = {}, {}
    for endpoint_id, klass, count, duration_ms, buckets in snapshot.attempts:
        if endpoint_id not in snapshot.endpoints:
            continue
        by_class[endpoint_id, klass] = by_class.get((endpoint_id, klass), 0) + count
        total = by_endpoint.setdefault(endpoint_id, [0, []])
        total[0] += duration_ms
        total[1] = add_buckets(total[1], list(buckets))
    attempts = CounterMetricFamily(
        PREFIX + "webhook_attempts",
        "HTTP attempts of webhook deliveries, by class of answer (error: none).",
        labels=[*ENDPOINT_LABELS, "status_class"],
    )
    for (endpoint_id, klass), count in sorted(by_class.items()):
        attempts.add_metric([*_endpoint_labels(snapshot, endpoint_id), klass], count)
    durations = HistogramMetricFamily(
        PREFIX + "webhook_attempt_duration_seconds",
        "Duration of webhook attempts, from connecting to the end of the answer.",
        labels=list(ENDPOINT_LABELS),
        unit="seconds",
    )
    for endpoint_id, (duration_ms, buckets) in sorted(by_endpoint.items()):
        cumulative, running = [], 0
        padded = add_buckets(buckets, [0] * (len(DURATION_BUCKETS) + 1))
        for bound, count in zip((*DURATION_BUCKETS, "+Inf"), padded, strict=False):
            running += count
            cumulative.append((str(bound), running))
        durations.add_metric(
            _endpoint_labels(snapshot, endpoint_id), cumulative, duration_ms / 1000
        )
    return [attempts, durations]


def circuit_family(snapshot):
    """``webhook_endpoint_circuit_state``: 1 for the state each endpoint's
    circuit breaker is in, 0 for the others (one series per state, as
    Prometheus' enum convention has it); no family without circuit rows.

    >>> snap = Snapshot(endpoints={3: ("Shop", False, 0)}, circuits=[(3, "open")])
    >>> [(s.labels["state"], s.value) for s in circuit_family(snap)[0].samples]
    [('closed', 0), ('open', 1), ('half_open', 0)]
    >>> circuit_family(Snapshot())
    []
    """
    if not snapshot.circuits:
        return []
    family = GaugeMetricFamily(
        PREFIX + "webhook_endpoint_circuit_state",
        "Circuit breaker state of the endpoint (1 for the current state).",
        labels=[*ENDPOINT_LABELS, "state"],
    )
    for endpoint_id, current in snapshot.circuits:
        if endpoint_id not in snapshot.endpoints:
            continue
        labels = _endpoint_labels(snapshot, endpoint_id)
        for state in CIRCUIT_STATES:
            family.add_metric([*labels, state], 1 if state == current else 0)
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
        family = CounterMetricFamily(PREFIX + name, text, labels=["key_id", "key"])
        for row in snapshot.api:
            family.add_metric([str(row[0] or ""), row[1] or ""], row[index])
        families.append(family)
    errors = CounterMetricFamily(
        PREFIX + "rate_limit_backend_errors",
        "Rate-limit decisions or counts the backend could not make (unreachable).",
        labels=["backend"],
    )
    for backend, count in snapshot.backend_errors:
        errors.add_metric([backend], count)
    return [*families, errors]


def incoming_families(snapshot):
    """The incoming webhooks' series of ``snapshot``."""
    accepted = CounterMetricFamily(
        PREFIX + "incoming_accepted",
        "Calls to validated incoming webhooks that passed every check.",
        labels=["validator_id", "validator"],
    )
    for validator_id, name, count in snapshot.accepted:
        accepted.add_metric([str(validator_id), name or ""], count)
    rejected = CounterMetricFamily(
        PREFIX + "incoming_rejected",
        "Calls to validated incoming webhooks refused, by reason.",
        labels=["validator_id", "validator", "reason"],
    )
    for validator_id, name, reason, count in snapshot.rejected:
        rejected.add_metric([str(validator_id), name or "", reason], count)
    return [accepted, rejected]


class SnapshotCollector:
    """A ``prometheus_client`` collector yielding one snapshot's series."""

    def __init__(self, snapshot):
        self.snapshot = snapshot

    def collect(self):
        yield from outbox_families(self.snapshot)
        yield from circuit_family(self.snapshot)
        yield from api_families(self.snapshot)
        yield from incoming_families(self.snapshot)


def render(snapshot, accept=None):
    """``(body, content type)`` of ``snapshot`` in the format the scraper's
    ``Accept`` header asks for: OpenMetrics for ``application/openmetrics-text``,
    the text format 0.0.4 otherwise.

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
    ['2.0']
    >>> [line.split()[-1] for line in lines if 'le="1.0"' in line]
    ['2.0']
    >>> body, kind = render(snap, "application/openmetrics-text; version=1.0.0")
    >>> kind.split(";")[0], body.decode().endswith("# EOF\\n")
    ('application/openmetrics-text', True)
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


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
