"""Which changes of an incoming webhook validator weaken it.

A validator stands between the Internet and an automation that runs as the
superuser. Integration managers configure validators, but only system
administrators may make one that guards an automation accept more than it
did: a call that the old settings refused and the new ones let through is
a call someone could forge or replay. Tightening stays open to managers.

A change weakens a validator when any of these holds (the field names are
those of ``integration.webhook.validator``):

- ``signature_scheme``: changed, except from ``none`` to a signed scheme
  (every scheme checks a different signature, with its own secret format,
  and not all sign a time, so no signed scheme is a tightening of another);
- ``secret``, ``secondary_secret``: changed at all (the caller could then
  sign calls);
- ``signature_algorithm`` (custom HMAC): changed to a weaker hash
  (SHA-1 < SHA-256 < SHA-512); the signature's header, encoding and prefix
  only say where and how the same signature is written;
- ``timestamp_tolerance``: larger;
- ``message_id_header``: changed (it decides which calls count as the same
  message, and so which are replays);
- ``replay_protection``: turned off; ``replay_window``: shorter;
- ``json_schema``: removed or changed (whether a new schema accepts more
  than the old one cannot be told in general); setting one where there was
  none is a tightening;
- ``max_body_bytes``: larger;
- ``allowed_content_types``: a type not accepted before (an empty list
  accepts any type), compared entry by entry;
- ``allowed_networks``: an address not allowed before (an empty list
  allows any address): every new network must lie within an old one;
- ``rate_limit``: removed, or one of its limits no longer held: each old
  ``n`` calls per ``s`` seconds needs a new limit of at most ``n`` calls
  over at least ``s`` seconds;
- ``verify_token`` (Meta's handshake): changed at all, like a secret;
- ``handshake``: changed to one that answers calls (any but ``none``): the
  validator then answers a kind of call it refused;
- ``processing``: changed to ``queued``: every call that passes the checks
  is then stored, payload included, and acknowledged even when its
  automation fails, and that automation runs it again on a schedule;
- ``queue_retry_schedule``: more tries than before (a failing message
  runs its automation more times).

>>> weakened({"timestamp_tolerance": 300}, {"timestamp_tolerance": 600})
['timestamp_tolerance']
>>> weakened({"signature_scheme": "none"}, {"signature_scheme": "github"})
[]
>>> weakened({"allowed_networks": "10.0.0.0/8"}, {"allowed_networks": "10.1.0.0/16"})
[]
>>> weakened({"rate_limit": "100/minute"}, {"rate_limit": "1000/hour"})
['rate_limit']
>>> weakened({"processing": "immediate", "handshake": "meta"},
...          {"processing": "queued", "handshake": "none"})
['processing']
>>> weakened({"queue_retry_schedule": "1m,5m"}, {"queue_retry_schedule": "1h"})
[]
"""

from . import networks as network_lists
from . import ratelimit
from .outbox import retry
from .webhook_settings import DEFAULT_QUEUE_SCHEDULE
from .webhook_validation import parse_content_types

# Hash functions of a custom HMAC, weakest first.
ALGORITHM_STRENGTH = ("sha1", "sha256", "sha512")

# Every field a change of which can weaken a validator.
GUARDED_FIELDS = frozenset(
    {
        "signature_scheme",
        "secret",
        "secondary_secret",
        "signature_algorithm",
        "timestamp_tolerance",
        "message_id_header",
        "replay_protection",
        "replay_window",
        "json_schema",
        "max_body_bytes",
        "allowed_content_types",
        "allowed_networks",
        "rate_limit",
        "verify_token",
        "handshake",
        "processing",
        "queue_retry_schedule",
    }
)


def weakened(old, new):
    """The names of the fields whose change from ``old`` to ``new`` (dicts
    of field values; fields missing from ``new`` are unchanged) makes the
    validator accept more, sorted.

    >>> weakened({"replay_protection": True}, {"replay_protection": False})
    ['replay_protection']
    >>> weakened({"json_schema": False}, {"json_schema": '{"type": "object"}'})
    []
    >>> weakened({"secret": "whsec_a"}, {"secret": "whsec_a"})
    []
    """
    return sorted(
        name
        for name in GUARDED_FIELDS & new.keys()
        if _weakens(name, old.get(name), new[name])
    )


def _weakens(name, old, new):
    old, new = _blank_to_none(old), _blank_to_none(new)
    if name == "message_id_header":
        # Read without surrounding spaces; header names ignore case.
        old, new = _header_name(old), _header_name(new)
    if old == new:
        return False
    if name == "signature_scheme":
        return old not in (None, "none")
    if name == "signature_algorithm":
        return _strength(new) < _strength(old)
    if name in ("timestamp_tolerance", "max_body_bytes"):
        return (new or 0) > (old or 0)
    if name == "replay_window":
        return (new or 0) < (old or 0)
    if name == "replay_protection":
        return not new
    if name == "json_schema":
        return old is not None
    if name == "allowed_content_types":
        return _wider_list(parse_content_types(old), parse_content_types(new))
    if name == "allowed_networks":
        return _wider_networks(
            network_lists.parse_networks(old), network_lists.parse_networks(new)
        )
    if name == "rate_limit":
        return _looser_limits(ratelimit.parse_limits(old), ratelimit.parse_limits(new))
    if name == "handshake":
        return new not in (None, "none")
    if name == "processing":
        return new == "queued"
    if name == "queue_retry_schedule":
        return _tries(new) > _tries(old)
    # secret, secondary_secret, message_id_header, verify_token: any change.
    return True


def _blank_to_none(value):
    if value is False or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _tries(schedule):
    """How many times a queued message is retried under ``schedule`` (the
    default one when blank); an invalid schedule is refused elsewhere.

    >>> _tries("1m, 1h"), _tries(None)
    (2, 6)
    """
    try:
        return len(retry.parse_schedule(schedule or DEFAULT_QUEUE_SCHEDULE))
    except ValueError:
        return 0


def _header_name(value):
    return value.strip().lower() if value else None


def _strength(algorithm):
    return ALGORITHM_STRENGTH.index(algorithm or "sha256")


def _wider_list(old, new):
    """Whether ``new`` accepts something ``old`` did not; empty accepts all.

    >>> _wider_list(("application/json",), ())
    True
    >>> _wider_list((), ("application/json",))
    False
    """
    if not old:
        return False
    return not new or not set(new) <= set(old)


def _wider_networks(old, new):
    """Whether ``new`` allows an address ``old`` did not; empty allows all.

    >>> _wider_networks(network_lists.parse_networks("10.0.0.0/8"),
    ...                 network_lists.parse_networks("10.0.0.0/8 192.0.2.1"))
    True
    """
    if not old:
        return False
    return not new or not all(_within(net, old) for net in new)


def _within(network, networks):
    return any(
        network.version == other.version and network.subnet_of(other)
        for other in networks
    )


def _looser_limits(old, new):
    """Whether some limit of ``old`` no longer holds under ``new``.

    >>> _looser_limits(ratelimit.parse_limits("100/minute"),
    ...                ratelimit.parse_limits("50/hour"))
    False
    >>> _looser_limits(ratelimit.parse_limits("100/minute"), ())
    True
    """
    return not all(
        any(
            limit.quantity <= kept.quantity and limit.seconds >= kept.seconds
            for limit in new
        )
        for kept in old
    )
