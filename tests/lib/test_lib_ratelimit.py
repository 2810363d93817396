"""lib.ratelimit: parsing, the sliding window, decisions, headers, and every
storage (memory, PostgreSQL, Redis) run through the same tests.

PostgreSQL is the test database (its tables come with the addon), on
connections of their own that commit; Redis is the local server. Keys carry
a random prefix and are removed afterwards.
"""

import math
import random
import threading
import uuid
from contextlib import contextmanager

import psycopg2.extensions
import pytest
import redis

from odoo import sql_db
from odoo.tests.common import get_db_name

from odoo.addons.integration_gateway.lib import ratelimit
from odoo.addons.integration_gateway.lib.ratelimit import Limit, parse_limits

T0 = 1_700_000_040.0  # a whole minute: bucket arithmetic stays readable
REDIS_URL = "redis://127.0.0.1:6379/0"


# -- parsing ---------------------------------------------------------------


def test_parse_limits_reads_the_usual_forms_shortest_period_first():
    assert parse_limits("100/minute; 5000/hour") == (
        Limit(100, 60, "minute"),
        Limit(5000, 3600, "hour"),
    )
    assert parse_limits("5000 per hour, 10/s\n2/15 minutes") == (
        Limit(10, 1, "second"),
        Limit(2, 900, "15 minutes"),
        Limit(5000, 3600, "hour"),
    )
    assert parse_limits("1/DAY") == (Limit(1, 86400, "day"),)
    assert parse_limits("3/2h") == (Limit(3, 7200, "2 hours"),)
    assert str(parse_limits("7/minute")[0]) == "7/minute"


def test_parse_limits_empty_means_no_limit():
    assert parse_limits("") == ()
    assert parse_limits(None) == ()
    assert parse_limits(" ; ") == ()


@pytest.mark.parametrize(
    "text, message",
    [
        ("100", "'100' is not a rate limit"),
        ("100/fortnight", "'100/fortnight' is not a rate limit"),
        ("ten/minute", "'ten/minute' is not a rate limit"),
        ("0/minute", "must be positive"),
        ("5/0 minutes", "must be positive"),
        ("100/minute; 5/60s", "limit the same period"),
    ],
)
def test_parse_limits_names_the_bad_item(text, message):
    with pytest.raises(ValueError, match=message):
        parse_limits(text)


# -- decisions and headers without a storage --------------------------------


def test_make_decision_reports_the_limit_closest_to_blocking():
    minute, hour = parse_limits("10/minute; 100/hour")
    windows = [
        (ratelimit.current_bucket(minute, T0), {}),
        (ratelimit.current_bucket(hour, T0), {ratelimit.current_bucket(hour, T0): 95}),
    ]
    decision = ratelimit.make_decision((minute, hour), T0, windows, True, consumed=True)
    assert decision.allowed
    assert decision.limit == hour
    assert decision.remaining == 4
    assert decision.retry_after == 0
    assert [s.remaining for s in decision.states] == [9, 4]


def test_headers_of_an_allowed_and_a_refused_decision():
    limits = parse_limits("100/minute; 5000/hour")
    storage = ratelimit.MemoryStorage()
    for _ in range(58):
        decision = storage.hit("k", limits, now=T0 + 0.5)
    headers = dict(ratelimit.decision_headers(decision))
    assert headers == {
        "RateLimit-Policy": '"minute";q=100;w=60, "hour";q=5000;w=3600',
        "RateLimit": '"minute";r=42;t=60',
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "42",
        "X-RateLimit-Reset": str(int(T0) + 61),
    }
    for _ in range(42):
        storage.hit("k", limits, now=T0 + 0.5)
    refused = storage.hit("k", limits, now=T0 + 10)
    headers = dict(ratelimit.decision_headers(refused))
    assert headers["RateLimit"] == '"minute";r=0;t=51'
    assert headers["Retry-After"] == "51"
    assert ratelimit.retry_after_seconds(refused) == 51


def test_header_names_are_quoted_strings():
    limit = Limit(1, 60, 'a "quoted" \\ name')
    decision = ratelimit.make_decision((limit,), T0, [(0, {})], True)
    headers = dict(ratelimit.decision_headers(decision))
    assert headers["RateLimit"].startswith('"a \\"quoted\\" \\\\ name";')


# -- every storage ------------------------------------------------------------


@contextmanager
def _own_cursor():
    with sql_db.db_connect(get_db_name()).cursor() as cr:
        cr.connection.set_isolation_level(
            psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED
        )
        yield cr


@pytest.fixture(scope="module")
def redis_client():
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    yield client
    client.close()


@pytest.fixture(params=["memory", "postgres", "redis"])
def storage(request):
    prefix = f"ig-test-{uuid.uuid4().hex[:12]}:"
    if request.param == "memory":
        store = ratelimit.MemoryStorage()
    elif request.param == "postgres":
        store = ratelimit.PostgresStorage(_own_cursor)
    else:
        store = ratelimit.RedisStorage(request.getfixturevalue("redis_client"), prefix)
    store.test_prefix = prefix
    yield store
    if request.param == "postgres":
        with _own_cursor() as cr:
            cr.execute(
                "DELETE FROM integration_rate_limit_counter WHERE key LIKE %s",
                (prefix + "%",),
            )
            cr.execute(
                "DELETE FROM integration_rate_limit_tally WHERE name LIKE %s",
                (prefix + "%",),
            )
    elif request.param == "redis":
        client = store.client
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)


def _key(storage, name="key"):
    return storage.test_prefix + name


def test_hit_accepts_the_quantity_then_refuses(storage):
    limits = parse_limits("3/minute")
    key = _key(storage)
    remaining = [storage.hit(key, limits, now=T0 + i).remaining for i in range(3)]
    assert remaining == [2, 1, 0]
    refused = storage.hit(key, limits, now=T0 + 5)
    assert not refused.allowed
    assert refused.remaining == 0
    # The first call's bucket [T0, T0 + 1) leaves the window at T0 + 61.
    assert refused.retry_after == pytest.approx(56)
    assert not storage.hit(key, limits, now=T0 + 60.99).allowed
    again = storage.hit(key, limits, now=T0 + 61)
    assert again.allowed
    assert again.remaining == 0


def test_refused_calls_consume_nothing_in_any_limit(storage):
    limits = parse_limits("2/second; 3/minute")
    key = _key(storage)
    assert storage.hit(key, limits, now=T0).allowed
    assert storage.hit(key, limits, now=T0).allowed
    refused = storage.hit(key, limits, now=T0 + 0.5)
    assert not refused.allowed
    assert refused.limit.name == "second"
    # The refused call left the minute alone: one more fits after a second.
    third = storage.hit(key, limits, now=T0 + 2)
    assert third.allowed
    assert third.limit.name == "minute"
    assert third.remaining == 0
    fourth = storage.hit(key, limits, now=T0 + 3)
    assert not fourth.allowed
    assert fourth.limit.name == "minute"
    assert fourth.retry_after == pytest.approx(58)


def test_peek_counts_nothing(storage):
    limits = parse_limits("1/minute")
    key = _key(storage)
    for _ in range(3):
        peeked = storage.peek(key, limits, now=T0)
        assert peeked.allowed
        assert peeked.remaining == 1
    assert storage.hit(key, limits, now=T0).allowed
    peeked = storage.peek(key, limits, now=T0 + 1)
    assert not peeked.allowed
    # the only call, made at T0, leaves the window at T0 + 60
    assert peeked.retry_after == pytest.approx(59)


def test_keys_are_independent_and_clear_forgets(storage):
    limits = parse_limits("1/hour")
    a, b = _key(storage, "a"), _key(storage, "b")
    assert storage.hit(a, limits, now=T0).allowed
    assert storage.hit(b, limits, now=T0).allowed
    assert not storage.hit(a, limits, now=T0 + 1).allowed
    storage.clear(a, limits)
    assert storage.hit(a, limits, now=T0 + 2).allowed
    assert not storage.hit(b, limits, now=T0 + 2).allowed


def test_a_cost_larger_than_one(storage):
    limits = parse_limits("10/minute")
    key = _key(storage)
    assert storage.hit(key, limits, cost=7, now=T0).remaining == 3
    refused = storage.hit(key, limits, cost=4, now=T0 + 1)
    assert not refused.allowed
    assert storage.hit(key, limits, cost=3, now=T0 + 1).remaining == 0
    impossible = storage.peek(key, limits, cost=11, now=T0 + 2)
    assert not impossible.allowed
    assert impossible.retry_after == math.inf


def test_tallies_count_decisions_and_drain_once(storage):
    limits = parse_limits("1/minute")
    key, tally = _key(storage), _key(storage, "usage:1:2024-01-01")
    storage.hit(key, limits, tally=tally, now=T0)
    storage.hit(key, limits, tally=tally, now=T0)
    storage.hit(key, limits, tally=tally, now=T0)
    storage.peek(key, limits, now=T0)
    storage.count(tally, "denied", 2)
    other = _key(storage, "other")
    storage.count(other, "denied")
    assert storage.drain(_key(storage, "usage:")) == {
        tally: {"allowed": 1, "refused": 2, "denied": 2}
    }
    assert storage.drain(_key(storage, "usage:")) == {}
    assert storage.drain(storage.test_prefix) == {other: {"denied": 1}}


def test_no_window_ever_holds_more_than_the_quantity(storage):
    """Random bursts and pauses over three minutes: every call accepted has
    at most ``quantity`` accepted calls in the ``period`` seconds up to it,
    and each storage answers exactly as the in-memory one does."""
    rng = random.Random(7)
    limits = parse_limits("5/10 seconds; 12/minute")
    reference = ratelimit.MemoryStorage()
    key = _key(storage)
    now, accepted = T0, []
    for _ in range(300):
        now += rng.choice([0, 0, 0.05, 0.3, 1.1, 4.0])
        decision = storage.hit(key, limits, now=now)
        expected = reference.hit("ref", limits, now=now)
        assert (decision.allowed, decision.remaining) == (
            expected.allowed,
            expected.remaining,
        )
        assert decision.retry_after == pytest.approx(expected.retry_after, abs=1e-5)
        for state in decision.states:
            assert state.reset <= state.limit.seconds
            assert state.wait <= state.limit.seconds
        if decision.allowed:
            accepted.append(now)
    assert 30 < len(accepted) < 300
    for limit in limits:
        for t in accepted:
            in_window = [a for a in accepted if t - limit.seconds < a <= t]
            assert len(in_window) <= limit.quantity


def test_retry_after_is_exact(storage):
    limits = parse_limits("4/minute")
    key = _key(storage)
    for offset in (0.2, 10.5, 20.5, 30.5):
        assert storage.hit(key, limits, now=T0 + offset).allowed
    refused = storage.hit(key, limits, now=T0 + 40)
    retry_at = T0 + 40 + refused.retry_after
    assert retry_at == pytest.approx(T0 + 61)
    assert not storage.peek(key, limits, now=retry_at - 0.001).allowed
    assert storage.peek(key, limits, now=retry_at).allowed


@pytest.mark.parametrize("text", ["1/minute", "2/day"])
def test_waits_never_exceed_the_period(storage, text):
    """``t`` and ``Retry-After`` are at most the period, and true: a call
    made in the middle of a bucket leaves the window one period after it
    was made, not when the bucket does."""
    (limit,) = limits = parse_limits(text)
    key = _key(storage)
    made = T0 + 0.7 * ratelimit.bucket_width(limit)
    for _ in range(limit.quantity):
        allowed = storage.hit(key, limits, now=made)
        assert allowed.allowed
        assert allowed.reset == pytest.approx(limit.seconds)
    headers = dict(ratelimit.decision_headers(allowed))
    assert headers["RateLimit"].endswith(f";t={limit.seconds}")
    refused = storage.hit(key, limits, now=made)
    assert not refused.allowed
    assert ratelimit.retry_after_seconds(refused) == limit.seconds
    later = storage.hit(key, limits, now=made + limit.seconds / 2)
    assert later.retry_after == pytest.approx(limit.seconds / 2)
    assert not storage.peek(key, limits, now=made + limit.seconds - 0.01).allowed
    assert storage.hit(key, limits, now=made + limit.seconds).allowed


def test_concurrent_hits_from_many_connections_never_overshoot(storage):
    """Sixteen threads - each decision on a connection of its own for the
    shared storages - fire 200 calls at a limit of 50: exactly 50 pass."""
    limits = parse_limits("50/hour")
    key = _key(storage)
    results = []
    lock = threading.Lock()

    def fire():
        for _ in range(200 // 16 + 1):
            decision = storage.hit(key, limits)
            with lock:
                results.append(decision.allowed)

    threads = [threading.Thread(target=fire) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 16 * 13
    assert results.count(True) == 50
    assert not storage.peek(key, limits).allowed


def test_a_clock_stepping_back_loses_no_call(storage):
    """Servers' clocks may step back a little: a call counted in an earlier
    bucket than the last one is still counted once."""
    limits = parse_limits("3/minute")
    key = _key(storage)
    assert storage.hit(key, limits, now=T0 + 5.5).remaining == 2
    assert storage.hit(key, limits, now=T0 + 3.5).remaining == 1
    assert storage.hit(key, limits, now=T0 + 5.5).remaining == 0
    refused = storage.hit(key, limits, now=T0 + 6)
    assert not refused.allowed
    # The call of the bucket at T0 + 3 leaves the window first.
    assert refused.retry_after == pytest.approx(58)
