"""A receiver down for a stretch, then back: its endpoint's circuit opens
after a few failures, so that the receiver gets a probe now and then rather
than every retry of every waiting webhook, the deliveries held back keep
their retries, and once a probe succeeds everything queued meanwhile goes
out at once."""

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

# The default schedule: the catch-up does not wait for retries minutes away.
SCHEDULE = ""
MAX_FAILED = 20  # failed attempts while the receiver is down: a few, then probes
CATCH_UP = 15  # seconds after the receiver is back by which all are delivered

# Each delivery's attempts: (Unix time, status, error?), in order. Odoo
# stores naive UTC datetimes.
ATTEMPTS = FIXTURES / "outbox_attempts.py"
CIRCUIT = FIXTURES / "outbox_circuit.py"


def test_receiver_down_then_back(shared_gateway, figures):
    gateway = shared_gateway
    count, outage = SIZE["outage_events"], SIZE["outage_seconds"]
    receiver = harness.new_receiver()  # not listening yet: connections refused
    endpoint = gateway.run(SETUP, receiver.url("/hook"), "OUTAGE", 20, 2, SCHEDULE)
    events = gateway.run(EVENTS, "OUTAGE", count, endpoint)
    down_since = time.time()  # the events were committed before
    harness.wait_for(
        lambda: gateway.run(CIRCUIT, endpoint)["circuit_state"] != "closed",
        # A dispatcher whose worker is recycled mid-batch leaves its claim to
        # the next round once its lease is over.
        timeout=90,
        interval=0.5,
        what="the circuit open",
        detail=lambda: (
            gateway.run(STATES, endpoint),
            gateway.run(CIRCUIT, endpoint),
            gateway.server.problems()[-20:],
        ),
    )
    circuit = gateway.run(CIRCUIT, endpoint)
    time.sleep(max(down_since + outage - time.time(), 0))
    receiver.start()
    back_at = time.time()
    try:
        harness.wait_for(
            lambda: len({hit.webhook_id for hit in receiver.snapshot()}) >= count,
            timeout=CATCH_UP + 30,
            what=f"all {count} events delivered once the receiver is back",
            detail=lambda: (
                gateway.run(STATES, endpoint),
                gateway.run(CIRCUIT, endpoint),
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
    assert gateway.run(CIRCUIT, endpoint)["circuit_state"] == "closed"

    deliveries = gateway.run(ATTEMPTS, endpoint)
    failed = [
        at for attempts in deliveries for at, code, _error in attempts if not code
    ]
    assert all(at < back_at for at in failed), "an attempt failed after it was back"
    delivered = [attempts[-1][0] for attempts in deliveries]
    last = max(delivered)
    held_back = sum(1 for attempts in deliveries if len(attempts) == 1)
    # Deliveries the circuit held back were never tried while it was down:
    # their retry schedule is untouched.
    assert held_back >= count - len(failed)
    assert len(failed) <= MAX_FAILED, f"{len(failed)} failed attempts during the outage"
    assert last - back_at <= CATCH_UP, f"all delivered {last - back_at:.1f} s after"
    figures.append(
        f"receiver outage: {count} events queued with the receiver down for "
        f"{back_at - down_since:.0f} s: {len(failed)} failed attempts during it "
        f"(goal <= {MAX_FAILED}; circuit opened after "
        f"{circuit['circuit_failures']} failures in a row, then probes), "
        f"{held_back} deliveries never tried while it was down; all delivered "
        f"{last - back_at:.1f} s after it came back (goal <= {CATCH_UP} s), once each"
    )
