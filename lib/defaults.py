"""Settings of the addon kept as system parameters: their names and their
defaults, in one place (the settings screen and the code reading them use
these)."""

from datetime import timedelta

DISPATCHER_COUNT_PARAM = "integration_gateway.dispatcher_count"
DISPATCHER_COUNT = 2  # dispatcher crons, by default
DEFAULT_POLICY_PARAM = "integration_gateway.default_policy_id"  # record id

RETENTION_DAYS_PARAM = "integration_gateway.retention_days"
RETENTION_DAYS = 30  # days delivered webhooks, attempts and rejections are kept


def retention_cutoff(days, now):
    """Before when history may be removed, with ``days`` the retention
    setting (text, a number or None); None keeps everything. The same rule
    for every kind of history: empty or unreadable means ``RETENTION_DAYS``,
    0 or less keeps history forever.

    >>> from datetime import datetime
    >>> now = datetime(2026, 12, 31)
    >>> retention_cutoff("7", now)
    datetime.datetime(2026, 12, 24, 0, 0)
    >>> retention_cutoff(None, now) == retention_cutoff("many", now) == datetime(
    ...     2026, 12, 1)
    True
    >>> retention_cutoff("0", now) is None and retention_cutoff(-1, now) is None
    True
    """
    try:
        days = int(days) if days not in (None, "", False) else RETENTION_DAYS
    except (TypeError, ValueError):
        days = RETENTION_DAYS
    if days <= 0:
        return None
    return now - timedelta(days=days)
