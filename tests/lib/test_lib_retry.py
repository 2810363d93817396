"""lib.outbox.retry: the retry schedule, jitter, Retry-After and outcomes."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from odoo.addons.integration_gateway.lib.outbox import retry


class _FixedRng:
    """Returns the low or high end of every uniform() range."""

    def __init__(self, high):
        self.high = high

    def uniform(self, low, high):
        return high if self.high else low


def test_default_schedule_is_ten_steps_over_about_three_and_a_half_days():
    schedule = retry.parse_schedule(retry.DEFAULT_SCHEDULE)
    assert schedule == (5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 72000, 86400)
    assert 3.5 < sum(schedule) / 86400 < 3.7


def test_parse_schedule_accepts_units_and_spaces():
    assert retry.parse_schedule(" 1s, 2m ,3H,1d") == (1, 120, 10800, 86400)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        (None, "empty"),
        ("5s,,5m", "empty step"),
        ("5s,5x", "'5x' is not a delay"),
        ("five seconds", "'five seconds' is not a delay"),
        ("-5s", "'-5s' is not a delay"),
    ],
)
def test_parse_schedule_names_the_bad_step(text, message):
    with pytest.raises(ValueError, match=message):
        retry.parse_schedule(text)


def test_jitter_stays_within_ten_percent():
    rng = random.Random(7)
    delays = [retry.jittered(100, rng) for _ in range(1000)]
    assert min(delays) >= 90
    assert max(delays) <= 110
    # jitter spreads: not every value is the same
    assert max(delays) - min(delays) > 15
    assert retry.jittered(100, _FixedRng(high=False)) == pytest.approx(90)
    assert retry.jittered(100, _FixedRng(high=True)) == pytest.approx(110)


def test_retry_after_in_seconds_and_capped():
    assert retry.parse_retry_after("120") == 120
    assert retry.parse_retry_after(" 0 ") == 0
    assert retry.parse_retry_after(str(10 * 86400)) == retry.RETRY_AFTER_CAP
    assert retry.parse_retry_after(None) is None
    assert retry.parse_retry_after("") is None
    assert retry.parse_retry_after("soon") is None
    assert retry.parse_retry_after("-5") is None


def test_retry_after_as_http_date():
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(minutes=10), usegmt=True)
    assert retry.parse_retry_after(later, now=now) == 600
    past = format_datetime(now - timedelta(minutes=10), usegmt=True)
    assert retry.parse_retry_after(past, now=now) == 0
    far = format_datetime(now + timedelta(days=3), usegmt=True)
    assert retry.parse_retry_after(far, now=now) == retry.RETRY_AFTER_CAP


@pytest.mark.parametrize(
    "status, outcome",
    [
        (200, retry.Outcome.DELIVERED),
        (204, retry.Outcome.DELIVERED),
        (299, retry.Outcome.DELIVERED),
        (301, retry.Outcome.RETRY),
        (302, retry.Outcome.RETRY),
        (400, retry.Outcome.RETRY),
        (404, retry.Outcome.RETRY),
        (410, retry.Outcome.GONE),
        (429, retry.Outcome.RETRY),
        (500, retry.Outcome.RETRY),
        (503, retry.Outcome.RETRY),
        (None, retry.Outcome.RETRY),
    ],
)
def test_classify(status, outcome):
    assert retry.classify(status) is outcome


def test_retry_delay_follows_the_schedule_then_gives_up():
    schedule = (5, 300, 1800)
    low = _FixedRng(high=False)
    assert retry.retry_delay(1, schedule, 500, rng=low) == pytest.approx(4.5)
    assert retry.retry_delay(2, schedule, None, rng=low) == pytest.approx(270)
    assert retry.retry_delay(3, schedule, 404, rng=low) == pytest.approx(1620)
    assert retry.retry_delay(4, schedule, 500, rng=low) is None


def test_retry_after_replaces_the_step_only_on_429_and_503():
    schedule = (5, 300)
    assert retry.retry_delay(1, schedule, 429, "120") == 120
    assert retry.retry_delay(1, schedule, 503, "7") == 7
    assert retry.retry_delay(1, schedule, 429, str(48 * 3600)) == 24 * 3600
    low = _FixedRng(high=False)
    assert retry.retry_delay(1, schedule, 500, "120", rng=low) == pytest.approx(4.5)
    assert retry.retry_delay(1, schedule, 429, "garbage", rng=low) == pytest.approx(4.5)
    # Retry-After does not add steps: after the last one the delivery is dead.
    assert retry.retry_delay(3, schedule, 429, "120") is None
