"""The response headers of a decision: ``RateLimit-Policy`` and
``RateLimit`` (IETF httpapi draft), the classic ``X-RateLimit-*`` and
``Retry-After``."""

import math


def _seconds(value):
    """Whole seconds for a header, rounded up so that a client waiting that
    long is never early."""
    return math.ceil(value - 1e-9) if math.isfinite(value) else 0


def _sf_string(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def decision_headers(decision):
    """The response headers describing ``decision``, as (name, value) pairs:
    ``RateLimit-Policy`` (every limit), ``RateLimit`` (the one closest to
    blocking), ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` (epoch
    seconds) and, when refused, ``Retry-After``."""
    policy = ", ".join(
        f"{_sf_string(limit.name)};q={limit.quantity};w={limit.seconds}"
        for limit in decision.limits
    )
    reset = _seconds(decision.reset)
    headers = [
        ("RateLimit-Policy", policy),
        (
            "RateLimit",
            f"{_sf_string(decision.limit.name)};r={decision.remaining};t={reset}",
        ),
        ("X-RateLimit-Limit", str(decision.limit.quantity)),
        ("X-RateLimit-Remaining", str(decision.remaining)),
        ("X-RateLimit-Reset", str(_seconds(decision.now + decision.reset))),
    ]
    if not decision.allowed:
        headers.append(("Retry-After", str(retry_after_seconds(decision))))
    return headers


def retry_after_seconds(decision):
    """``Retry-After`` of a refused decision: whole seconds, at least 1."""
    return max(1, _seconds(decision.retry_after))
