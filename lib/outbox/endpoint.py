"""An endpoint as the dispatcher sees it, and when its health disables it.

An endpoint's settings are compiled once per batch into a frozen
:class:`EndpointSettings` (its extra headers and retry schedule parsed once),
which builds the HTTP request of every delivery claimed for it and holds the
retry schedule :func:`.delivery.transition` follows.

Health: every batch adds up, endpoint by endpoint, what its tries came to
(:class:`Health`). Any 2xx in a batch resets the endpoint's failures, unless
the receiver also answered 410 Gone, which disables the endpoint at once;
an endpoint without a 2xx for ``DISABLE_AFTER`` is disabled too
(:func:`disable_reason`). A disabled endpoint keeps its deliveries waiting.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from . import retry, sender

DISABLE_AFTER = timedelta(days=5)  # without a 2xx, an endpoint is disabled
GONE = "gone"  # disable reason: the receiver answered 410
SILENT = "silent"  # disable reason: no 2xx for DISABLE_AFTER


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
