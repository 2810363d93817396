"""The addon's own exceptions, raised by more than one capability."""

from werkzeug.exceptions import ServiceUnavailable

from odoo.exceptions import UserError

# What a refused caller is told to wait while the rate limiter is unreachable.
UNAVAILABLE_RETRY_AFTER = 5  # seconds


class RateLimiterUnavailable(ServiceUnavailable):
    """The counters cannot be reached and the failure mode is ``closed``:
    the call is refused with 503 and ``Retry-After``."""

    def __init__(self):
        super().__init__(
            "The rate limiter is unavailable; retry later.",
            retry_after=UNAVAILABLE_RETRY_AFTER,
        )


class RateLimitExceeded(UserError):
    """A call over its rate limit, where errors are answered without an
    HTTP status (legacy XML-RPC and JSON-RPC)."""
