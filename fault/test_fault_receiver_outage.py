"""A receiver down for a stretch, then back: every webhook queued meanwhile
is delivered once it is back, each retry at the time its schedule says."""

import itertools
import time

import harness
import pytest
from conftest import SIZE
from outbox import (
    EVENTS,
    FIXTURES,
    SETUP,
    STATES,
    check_every_event_arrived_once_or_more,
)

pytestmark = pytest.mark.fault

# Retries 2, 4, 6 and then every 8 seconds, each varied by up to 10%.
SCHEDULE = "2s,4s,6s,8s,8s,8s,8s,8s,8s,8s"
STEPS = [2, 4, 6] + [8] * 7
JITTER = 0.10
# How late an attempt may start after its time: the dispatcher wakes for it,
# claims it and sends it; on a loaded machine this takes a moment.
LATE = 2.5  # seconds
OUTAGE = 14  # seconds the receiver is down

# Each delivery's attempts: (Unix time, status, error?), in order. Odoo
# stores naive UTC datetimes.
ATTEMPTS = FIXTURES / "outbox_attempts.py"


def test_receiver_down_then_back(shared_gateway, figures):
    gateway = shared_gateway
    count = SIZE["outage_events"]
    receiver = harness.new_receiver()  # not listening yet: connections refused
    endpoint = gateway.run(SETUP, receiver.url("/hook"), "OUTAGE", 20, 2, SCHEDULE)
    events = gateway.run(EVENTS, "OUTAGE", count, endpoint)
    committed = down_since = time.time()  # the events were committed before
    time.sleep(OUTAGE)
    receiver.start()
    back_at = time.time()
    try:
        harness.wait_for(
            lambda: len({hit.webhook_id for hit in receiver.snapshot()}) >= count,
            timeout=max(STEPS) * (1 + JITTER) + LATE + 30,
            what=f"all {count} events delivered once the receiver is back",
            detail=lambda: (
                gateway.run(STATES, endpoint),
                gateway.server.problems()[-20:],
            ),
        )
        harness.wait_for(
            lambda: gateway.run(STATES, endpoint) == {"delivered": count},
            timeout=30,
            what="every delivery recorded as delivered",
            detail=lambda: (
                gateway.run(STATES, endpoint),
                gateway.server.problems()[-20:],
            ),
        )
    finally:
        receiver.stop()
    twice = check_every_event_arrived_once_or_more(receiver.snapshot(), events)
    assert twice == 0

    deliveries = gateway.run(ATTEMPTS, endpoint)
    worst_late, worst_early, failed_attempts = 0.0, 0.0, 0
    for attempts in deliveries:
        *failures, (delivered_at, status, _error) = attempts
        assert status == 200
        assert failures, "the first attempt met the receiver down"
        assert all(error and not code for _at, code, error in failures)
        # An attempt started just before the receiver came back may connect
        # just after.
        assert all(at < back_at for at, _code, _error in failures)
        assert delivered_at >= back_at - 1
        failed_attempts += len(failures)
        # The first attempt is immediate, each retry comes at its step.
        worst_late = max(worst_late, attempts[0][0] - committed)
        for index, (previous, current) in enumerate(itertools.pairwise(attempts)):
            gap = current[0] - previous[0]
            step = STEPS[index]
            worst_early = max(worst_early, step * (1 - JITTER) - gap)
            worst_late = max(worst_late, gap - step * (1 + JITTER))
    assert worst_early <= 0.05, f"a retry came {worst_early:.2f} s early"
    assert worst_late <= LATE, f"an attempt came {worst_late:.2f} s late"
    last = max(attempts[-1][0] for attempts in deliveries)
    figures.append(
        f"receiver outage: {count} events queued with the receiver down for "
        f"{back_at - down_since:.0f} s ({failed_attempts} failed attempts, "
        f"retries {SCHEDULE}): all delivered {last - back_at:.1f} s after it came "
        f"back, once each; every attempt on schedule (latest {worst_late:.2f} s "
        "after its time, none early)"
    )
