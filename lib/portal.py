"""What an integration partner may do from Odoo's portal, decided without
the ORM.

A partner's contact with portal access manages the partner's own webhook
endpoints, follows their deliveries and sees the usage of the partner's API
keys (``controllers/portal*.py`` over
``models/integration_webhook_endpoint_portal.py`` and
``models/res_partner.py``). Three things are decided here:

* which fields of an endpoint the portal may set (:data:`PORTAL_FIELDS`):
  never the extra headers (the receiver's credentials, set by an
  administrator), nor the permission to reach private networks, nor the
  retry and throttle settings;
* whether a URL given on the portal may be used (:func:`url_refusal`): the
  address is resolved when the URL is saved and every non-public answer
  refuses it, so a DNS name of loopback (``localhost``) is refused as well
  as ``127.0.0.1``, ``10.0.0.8`` or the cloud metadata address. The sender
  checks the address again at connect time (DNS rebinding);
* the 30 days of a key's usage chart (:func:`usage_series`) and the
  lifetime of a key issued on the portal (:func:`key_lifetime_days`).
"""

import datetime
import ipaddress
import socket
from urllib.parse import urlsplit

from . import networks

# The only endpoint fields a portal user writes.
PORTAL_FIELDS = frozenset(
    {"name", "url", "event_type_ids", "payload_format", "active", "partner_id"}
)
# Test events, retries and replays a portal user may ask for.
PORTAL_ACTION_LIMIT = "10/minute"
# Days of usage on the portal's chart.
USAGE_DAYS = 30
# Lifetime proposed for a key issued on the portal under a policy without a
# maximum, and the longest one then allowed.
DEFAULT_KEY_DAYS = 90


def resolve(host):
    """The addresses ``host`` resolves to (the module's resolver, which
    tests replace to keep DNS queries off the network)."""
    return [
        info[4][0] for info in socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM)
    ]


def url_refusal(url):
    """Why ``url`` may not be an endpoint's URL set on the portal, or None.

    >>> url_refusal("http://127.0.0.1:8080/hook")
    '127.0.0.1 is a loopback address'
    >>> url_refusal("https://10.1.2.3/hook")
    '10.1.2.3 is a private network address'
    >>> url_refusal("http://169.254.169.254/latest/meta-data/")
    '169.254.169.254 is a cloud metadata address'
    >>> url_refusal("http://[::ffff:127.0.0.1]/")
    '127.0.0.1 is a loopback address'
    >>> url_refusal("http://localhost:8069/")
    'localhost resolves to 127.0.0.1, a loopback address'
    >>> url_refusal("ftp://example.com/")
    'only http and https URLs can be used'
    """
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https"):
        return "only http and https URLs can be used"
    host = parts.hostname
    if not host:
        return "the URL has no host"
    if _is_address(host):
        return networks.forbidden_destination(host)
    if host == "localhost" or host.endswith(".localhost"):
        # Never asked of DNS (RFC 6761): always the loopback.
        return f"{host} resolves to 127.0.0.1, a loopback address"
    try:
        addresses = resolve(host)
    except (OSError, UnicodeError):
        # Unknown today; checked again by the sender at each connection.
        return None
    for address in addresses:
        reason = networks.forbidden_destination(address)
        if reason:
            address, _sep, kind = reason.partition(" is ")
            return f"{host} resolves to {address}, {kind}"
    return None


def usage_series(rows, today, days=USAGE_DAYS):
    """The chart of ``rows`` (``(date, calls, rate_limited, denied)``,
    several per day when several keys were used) for the ``days`` days up
    to ``today``: ``{"labels": [...], "calls": [...], "rate_limited":
    [...], "denied": [...]}``, days without calls at zero.

    >>> day = datetime.date(2026, 3, 31)
    >>> rows = [(day, 5, 1, 0), (day, 2, 0, 1), (datetime.date(2026, 3, 29), 7, 0, 0)]
    >>> series = usage_series(rows, day, days=3)
    >>> series["labels"]
    ['2026-03-29', '2026-03-30', '2026-03-31']
    >>> series["calls"], series["rate_limited"], series["denied"]
    ([7, 0, 7], [0, 0, 1], [0, 0, 1])
    """
    first = today - datetime.timedelta(days=days - 1)
    index = {first + datetime.timedelta(days=n): n for n in range(days)}
    series = {name: [0] * days for name in ("calls", "rate_limited", "denied")}
    for date, calls, rate_limited, denied in rows:
        n = index.get(date)
        if n is None:
            continue
        series["calls"][n] += calls
        series["rate_limited"][n] += rate_limited
        series["denied"][n] += denied
    series["labels"] = [day.isoformat() for day in sorted(index)]
    return series


def key_lifetime_days(requested, policy_max):
    """The lifetime in days of a key asked for ``requested`` days on the
    portal under a policy whose maximum is ``policy_max`` (0: none): at
    least one day, at most the policy's maximum, or DEFAULT_KEY_DAYS when
    the policy sets none (portal keys always expire).

    >>> key_lifetime_days(30, 90), key_lifetime_days(365, 90)
    (30, 90)
    >>> key_lifetime_days(None, 7), key_lifetime_days(0, 0), key_lifetime_days(500, 0)
    (7, 1, 90)
    """
    cap = policy_max or DEFAULT_KEY_DAYS
    if requested is None:
        return cap
    return max(1, min(int(requested), cap))


def _is_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
