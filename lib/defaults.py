"""Settings of the addon kept as system parameters: their names and their
defaults, in one place (the settings screen and the code reading them use
these)."""

from datetime import timedelta

DISPATCHER_COUNT_PARAM = "integration_gateway.dispatcher_count"
DISPATCHER_COUNT = 2  # dispatcher crons, by default
DEFAULT_POLICY_PARAM = "integration_gateway.default_policy_id"  # record id

RETENTION_DAYS_PARAM = "integration_gateway.retention_days"
RETENTION_DAYS = 30  # days delivered webhooks, attempts and rejections are kept


def retention_cutoff(get_param, now):
    """Before when history may be removed, ``get_param`` giving the system
    parameters (``ir.config_parameter.get_param``); None keeps everything.
    The same rule for every kind of history: an empty or unreadable setting
    means ``RETENTION_DAYS``, 0 or less keeps history forever.

    >>> from datetime import datetime
    >>> now = datetime(2026, 12, 31)
    >>> retention_cutoff({RETENTION_DAYS_PARAM: "7"}.get, now)
    datetime.datetime(2026, 12, 24, 0, 0)
    >>> retention_cutoff({}.get, now) == datetime(2026, 12, 1)
    True
    >>> retention_cutoff({RETENTION_DAYS_PARAM: "many"}.get, now).day
    1
    >>> retention_cutoff({RETENTION_DAYS_PARAM: "0"}.get, now) is None
    True
    """
    days = get_param(RETENTION_DAYS_PARAM)
    try:
        days = int(days) if days not in (None, "", False) else RETENTION_DAYS
    except (TypeError, ValueError):
        days = RETENTION_DAYS
    if days <= 0:
        return None
    return now - timedelta(days=days)
