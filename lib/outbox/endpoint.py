"""An endpoint as the dispatcher sees it, its health, and its test event.

An endpoint's settings are compiled once per batch into a frozen
:class:`EndpointSettings` (its extra headers and retry schedule parsed once),
which builds the HTTP request of every delivery claimed for it and holds the
retry schedule :func:`.delivery.transition` follows.

Health: every batch adds up, endpoint by endpoint, what its tries came to
(:class:`Health`). Any 2xx in a batch resets the endpoint's failures, unless
the receiver also answered 410 Gone, which disables the endpoint at once;
an endpoint without a 2xx for ``DISABLE_AFTER`` is disabled too
(:func:`disable_reason`). A disabled endpoint keeps its deliveries waiting.
What the overview shows of it: its :func:`health` state (from its failure
streak and its recent success rate), and the figures of its attempts of
the last ``HEALTH_WINDOW`` (:func:`figures`).

Secrets: a delivery is signed with the current secret and, for a grace
period after a rotation, with the previous one too (:func:`signing_secrets`,
:func:`rotation`); a ``whsec_`` secret signs with HMAC (``v1``), a ``whsk_``
key with Ed25519 (``v1a``). An endpoint may also authenticate with an OAuth2
token (:mod:`.oauth2`) and a client certificate (:mod:`.tls`).

A test event (:func:`test_event_payload`) is tried once and leaves the
endpoint's health alone; :func:`test_outcome` says how its answer is shown.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from . import retry, sender

DISABLE_AFTER = timedelta(days=5)  # without a 2xx, an endpoint is disabled
GONE = "gone"  # disable reason: the receiver answered 410
SILENT = "silent"  # disable reason: no 2xx for DISABLE_AFTER
HEALTH_WINDOW = timedelta(hours=24)  # the attempts the overview's figures cover
# Below this share of 2xx answers in HEALTH_WINDOW an endpoint is failing,
# whatever its last answer; judged from this many attempts on.
HEALTHY_RATE = 0.95
HEALTHY_MIN_ATTEMPTS = 10
# Kanban highlight colours (Odoo's colour indexes) of each health state.
HEALTH_COLORS = {"healthy": 10, "failing": 2, "disabled": 1, "archived": 0}
NAME_CHARS = 80  # of an endpoint named after its URL


@dataclass(frozen=True)
class EndpointSettings:
    """What sending to an endpoint needs, read once per batch.

    >>> settings = EndpointSettings.compile(
    ...     url="https://example.com/hook", headers='{"X-Tenant": "acme"}',
    ...     timeout=5, schedule="5s,1m", secrets=["whsec_a"])
    >>> settings.schedule, settings.rate
    ((5, 60), 0)
    >>> message = settings.message("msg_1", '{"a": 1}', not_before=12.5)
    >>> message.body, message.headers, message.not_before, message.secrets
    (b'{"a": 1}', {'X-Tenant': 'acme'}, 12.5, ('whsec_a',))
    """

    url: str
    headers: dict
    timeout: float
    schedule: tuple
    allow_private: bool = False
    secrets: tuple = ()
    rate: int = 0  # requests per second at most; 0 does not throttle
    auth: object = None  # an oauth2.TokenSource: a bearer token is sent
    tls: object = None  # a tls.ClientTLS: a client certificate is presented

    @classmethod
    def compile(
        cls,
        *,
        url,
        headers,
        timeout,
        schedule,
        allow_private=False,
        secrets=(),
        rate=0,
    ):
        """Settings from an endpoint's values, ``headers`` (JSON) and
        ``schedule`` (``"5s,5m"``) as text; raises ValueError on bad text."""
        return cls(
            url=url,
            headers=sender.parse_headers(headers),
            timeout=timeout,
            schedule=retry.parse_schedule(schedule),
            allow_private=bool(allow_private),
            secrets=tuple(secrets),
            rate=rate or 0,
        )

    def message(self, msg_id, payload, not_before=0.0):
        """The HTTP request of a delivery (``payload`` is its JSON text),
        signed when it is sent, not before Unix time ``not_before``."""
        return sender.Message(
            url=self.url,
            body=payload.encode(),
            headers=self.headers,
            timeout=self.timeout,
            allow_private=self.allow_private,
            not_before=not_before,
            msg_id=msg_id,
            secrets=self.secrets,
            auth=self.auth,
            tls=self.tls,
        )


@dataclass
class Health:
    """What one batch's tries tell of an endpoint's receiver.

    >>> from .delivery import Step
    >>> health = Health()
    >>> health.add(Step("retrying", 1, status=500), datetime(2026, 1, 1, 9))
    >>> health.add(Step("delivered", 1, succeeded=True), datetime(2026, 1, 1, 8))
    >>> health.recovered, health.failures, health.first_failure.hour
    (True, 1, 9)
    >>> health.add(Step("pending", 2, status=410, gone=True), datetime(2026, 1, 1, 7))
    >>> health.recovered, health.failures, health.first_failure.hour
    (False, 2, 7)
    """

    success: datetime | None = None  # the latest try answered with a 2xx
    failures: int = 0
    first_failure: datetime | None = None
    gone: bool = False

    def add(self, step, started):
        """Counts a try that started at ``started`` and came to ``step``."""
        if not step.attempted:
            return
        if step.succeeded:
            self.success = max(self.success or started, started)
            return
        self.failures += 1
        self.first_failure = min(self.first_failure or started, started)
        self.gone = self.gone or step.gone

    @property
    def recovered(self):
        """Whether the batch shows a working receiver: any 2xx, and no 410
        (a 410 disables the endpoint even after a success in the batch)."""
        return bool(self.success) and not self.gone


def disable_reason(gone, failing_since, now, after=DISABLE_AFTER):
    """Why a failing endpoint is disabled now: ``GONE`` when its receiver
    answered 410, ``SILENT`` when it has failed since ``failing_since`` for
    ``after`` or longer, None while it may go on.

    >>> now = datetime(2026, 1, 10)
    >>> disable_reason(True, now, now)
    'gone'
    >>> disable_reason(False, datetime(2026, 1, 5), now)
    'silent'
    >>> disable_reason(False, datetime(2026, 1, 5, 0, 1), now) is None
    True
    """
    if gone:
        return GONE
    if failing_since <= now - after:
        return SILENT
    return None


def health(active, disabled, failing, attempts=0, successes=0):
    """An endpoint's health state, as the overview shows it: archived
    first, then disabled, then failing: any failure since the last 2xx, or
    fewer than ``HEALTHY_RATE`` of the recent ``attempts`` answered with a
    2xx (``successes``) once there are ``HEALTHY_MIN_ATTEMPTS`` of them, so
    that a receiver that fails every other call is not called healthy
    because its last answer happened to be a 2xx.

    >>> health(True, False, 0), health(True, False, 3), health(True, True, 3)
    ('healthy', 'failing', 'disabled')
    >>> health(False, True, 3), HEALTH_COLORS[health(True, False, 0)]
    ('archived', 10)
    >>> health(True, False, 0, attempts=20, successes=10)
    'failing'
    >>> health(True, False, 0, attempts=20, successes=19)
    'healthy'
    >>> health(True, False, 0, attempts=4, successes=2)  # too few to judge
    'healthy'
    """
    if not active:
        return "archived"
    if disabled:
        return "disabled"
    if failing:
        return "failing"
    if attempts >= HEALTHY_MIN_ATTEMPTS and successes < HEALTHY_RATE * attempts:
        return "failing"
    return "healthy"


def figures(attempts, successes, p95):
    """The overview's figures of an endpoint from its attempts' count, its
    2xx count and the 95th percentile of their durations (None without
    attempts): ``(attempts, success rate, p95 in ms)``.

    >>> figures(4, 3, 120), figures(0, 0, None)
    ((4, 0.75, 120), (0, 0.0, 0))
    """
    return attempts, successes / attempts if attempts else 0.0, p95 or 0


def signing_secrets(secret, previous, previous_until, now):
    """The secrets a delivery is signed with at ``now``: the current one,
    then the previous one while its grace period (until ``previous_until``)
    lasts.

    >>> until = datetime(2026, 1, 2)
    >>> signing_secrets("whsec_new", "whsec_old", until, datetime(2026, 1, 1))
    ['whsec_new', 'whsec_old']
    >>> signing_secrets("whsec_new", "whsec_old", until, until)
    ['whsec_new']
    """
    secrets = [secret]
    if previous and previous_until and previous_until > now:
        secrets.append(previous)
    return secrets


def rotation(secret, grace_hours, now):
    """What a rotation keeps of the replaced ``secret``: ``(previous secret,
    until when it signs)``, nothing without a grace period.

    >>> rotation("whsec_old", 24, datetime(2026, 1, 1))
    ('whsec_old', datetime.datetime(2026, 1, 2, 0, 0))
    >>> rotation("whsec_old", 0, datetime(2026, 1, 1))
    (False, False)
    """
    if not grace_hours:
        return False, False
    return secret, now + timedelta(hours=grace_hours)


def name_from_url(url):
    """The name of an endpoint created for a URL: its host, port and path.

    >>> name_from_url("https://example.com:8443/hooks/orders?token=x")
    'example.com:8443/hooks/orders'
    """
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    name = (parts.hostname or "") + port + parts.path
    return name[:NAME_CHARS] or url[:NAME_CHARS]


def test_event_payload(model, record_id, sent_at):
    """The body of a plain test event of an endpoint, in Odoo's shape.

    >>> test_event_payload("integration.webhook.endpoint", 7, "2026-01-01 09:00:00")
    '{"_action": "test", "_id": 7, "_model": "integration.webhook.endpoint", \
"_test": true, "sent_at": "2026-01-01 09:00:00"}'
    """
    payload = {"_model": model, "_id": record_id, "_action": "test", "_test": True}
    return json.dumps({**payload, "sent_at": sent_at}, sort_keys=True)


def test_outcome(step, result):
    """How a test event's answer is shown: ``"delivered"``, ``"answered"``
    (the receiver answered, not with a 2xx) or ``"unreached"``.

    >>> from .delivery import _tried, test_event
    >>> [test_outcome(test_event(r), r) for r in (
    ...     _tried(status_code=204), _tried(status_code=500), _tried(error="x"))]
    ['delivered', 'answered', 'unreached']
    """
    if step.succeeded:
        return "delivered"
    return "answered" if result.status_code else "unreached"
