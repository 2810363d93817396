"""Names of the usage tallies of API keys.

Usage is counted by the rate limiter's storage (one increment in the step
that decides on the call) under tallies named ``usage:<key id>:<UTC day>``,
and collected into daily rows by ``integration.api.usage``, so that a call
never costs an ORM write.
"""

import re
from datetime import date

USAGE_TALLY_PREFIX = "usage:"
_USAGE_TALLY = re.compile(r"^usage:(?P<key_id>\d+):(?P<day>\d{4}-\d{2}-\d{2})$")


def usage_tally(key_id, day):
    """The tally counting the calls of key ``key_id`` on ``day`` (a date).

    >>> usage_tally(42, date(2026, 12, 2))
    'usage:42:2026-12-02'
    """
    return f"{USAGE_TALLY_PREFIX}{key_id}:{day.isoformat()}"


def parse_usage_tally(name):
    """The key id and day a tally counts, or None for another name.

    >>> parse_usage_tally("usage:42:2026-12-02")
    (42, datetime.date(2026, 12, 2))
    >>> parse_usage_tally("apikey:42") is None
    True
    """
    match = _USAGE_TALLY.match(name)
    if not match:
        return None
    return int(match["key_id"]), date.fromisoformat(match["day"])
