"""When an endpoint's people are told about it: before it breaks, when it
breaks, when it is well again.

An endpoint is in one of three alert states (``NONE``, ``FAILING``,
``DISABLED``), kept on its row; :func:`transition` compares that state with
what the endpoint's figures say now and names the alert to raise, if any.
Each alert is raised once: the state it leads to is stored with it, so a
check repeated every few minutes says nothing new until something changes.

* ``failing``: no success for ``failing_after`` seconds (since the first
  failure after the last success), or the oldest waiting delivery is older
  than ``backlog_after`` seconds (0 turns that check off), or the
  endpoint's circuit is open;
* ``disabled``: the dispatcher disabled it (5 days without a 2xx, or 410);
* ``recovered``: none of the above holds any more after one was raised.

Deliveries that went dead are told separately, at most once per endpoint
per ``DEAD_NOTICE_INTERVAL`` (:func:`dead_notice_due`).
"""

from dataclasses import dataclass
from datetime import timedelta

NONE = ""
FAILING = "failing"
DISABLED = "disabled"
RECOVERED = "recovered"
EVENTS = {
    FAILING: "integration.endpoint.failing",
    DISABLED: "integration.endpoint.disabled",
    RECOVERED: "integration.endpoint.recovered",
}
FAILING_AFTER = 3600  # seconds without a success before "failing", by default
BACKLOG_AFTER = 3600  # seconds the oldest waiting delivery may wait, by default
DEAD_NOTICE_INTERVAL = timedelta(hours=1)  # per endpoint, at most one notice
FAILING_AFTER_PARAM = "integration_gateway.alert_failing_minutes"
BACKLOG_AFTER_PARAM = "integration_gateway.alert_backlog_minutes"


@dataclass(frozen=True)
class Thresholds:
    """The settings of the alerts, in seconds (``backlog_after`` 0: off).

    >>> Thresholds.parse("120", "")
    Thresholds(failing_after=7200, backlog_after=3600)
    >>> Thresholds.parse("soon", "0")
    Thresholds(failing_after=3600, backlog_after=0)
    """

    failing_after: int = FAILING_AFTER
    backlog_after: int = BACKLOG_AFTER

    @classmethod
    def parse(cls, failing_minutes, backlog_minutes):
        """Thresholds from the settings' text, in minutes; empty or
        unreadable values mean the defaults, negative ones 0."""

        def seconds(value, default):
            try:
                if value in (None, "", False):
                    return default
                return max(int(value), 0) * 60
            except (TypeError, ValueError):
                return default

        return cls(
            seconds(failing_minutes, FAILING_AFTER),
            seconds(backlog_minutes, BACKLOG_AFTER),
        )


def condition(*, failing_since, oldest_waiting_since, circuit_open, now, thresholds):
    """Whether the endpoint is failing by the thresholds, now.

    >>> from datetime import datetime
    >>> now, t = datetime(2026, 1, 1, 12), Thresholds(3600, 600)
    >>> condition(failing_since=datetime(2026, 1, 1, 10), oldest_waiting_since=None,
    ...           circuit_open=False, now=now, thresholds=t)
    True
    >>> condition(failing_since=datetime(2026, 1, 1, 11, 30), oldest_waiting_since=None,
    ...           circuit_open=False, now=now, thresholds=t)
    False
    >>> condition(failing_since=None, oldest_waiting_since=datetime(2026, 1, 1, 11),
    ...           circuit_open=False, now=now, thresholds=t)
    True
    >>> condition(failing_since=None, oldest_waiting_since=datetime(2026, 1, 1, 11),
    ...           circuit_open=False, now=now, thresholds=Thresholds(3600, 0))
    False
    """
    if circuit_open:
        return True
    if failing_since and now - failing_since >= timedelta(
        seconds=thresholds.failing_after
    ):
        return True
    return bool(
        thresholds.backlog_after
        and oldest_waiting_since
        and now - oldest_waiting_since >= timedelta(seconds=thresholds.backlog_after)
    )


def transition(current, *, disabled, failing):
    """The alert to raise for an endpoint in alert state ``current`` that is
    ``disabled`` and/or ``failing`` now (see :func:`condition`), or None.

    >>> transition(NONE, disabled=False, failing=True)
    'failing'
    >>> transition(FAILING, disabled=False, failing=True) is None
    True
    >>> transition(FAILING, disabled=True, failing=True)
    'disabled'
    >>> transition(DISABLED, disabled=True, failing=False) is None
    True
    >>> transition(DISABLED, disabled=False, failing=True)
    'failing'
    >>> transition(FAILING, disabled=False, failing=False)
    'recovered'
    >>> transition(NONE, disabled=False, failing=False) is None
    True
    """
    if disabled:
        return DISABLED if current != DISABLED else None
    if failing:
        return FAILING if current != FAILING else None
    return RECOVERED if current != NONE else None


def state_after(alert):
    """The alert state an endpoint is in once ``alert`` was raised.

    >>> state_after(FAILING), state_after(RECOVERED)
    ('failing', '')
    """
    return NONE if alert == RECOVERED else alert


def dead_notice_due(last_notice, now):
    """Whether deliveries that went dead may be told again now.

    >>> from datetime import datetime
    >>> dead_notice_due(None, datetime(2026, 1, 1, 12))
    True
    >>> dead_notice_due(datetime(2026, 1, 1, 11, 30), datetime(2026, 1, 1, 12))
    False
    """
    return last_notice is None or now - last_notice >= DEAD_NOTICE_INTERVAL
