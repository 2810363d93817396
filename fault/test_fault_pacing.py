"""Adaptive pacing: a receiver taking at most 50 requests a second, answering
429 beyond, gets a backlog of webhooks from every dispatcher at once. After
the first 429s the endpoint's rate, shared by the dispatchers, settles under
what the receiver takes: nearly every request after the first seconds is
accepted, and every event is delivered."""

import time

import harness
import pytest
from conftest import SIZE
from outbox import EVENTS, SETUP, STATES, check_every_event_arrived_once_or_more

pytestmark = pytest.mark.fault

PER_SECOND = 50  # requests the receiver accepts in any second
SETTLE = 2.0  # seconds after the first request that the figure leaves out
GOAL = 0.90  # share of the requests accepted after SETTLE
SCHEDULE = ",".join(["2s"] * 10)


def test_adaptive_pacing_under_a_rate_limited_receiver(shared_gateway, figures):
    gateway = shared_gateway
    count = SIZE["paced_events"]
    receiver = harness.new_receiver()
    receiver.per_second = PER_SECOND
    receiver.start()
    try:
        endpoint = gateway.run(SETUP, receiver.url("/hook"), "PACED", 20, 2, SCHEDULE)
        started = time.time()
        events = gateway.run(EVENTS, "PACED", count, endpoint)
        harness.wait_for(
            lambda: gateway.run(STATES, endpoint) == {"delivered": count},
            timeout=count / PER_SECOND * 6 + 60,
            interval=1,
            what=f"all {count} events delivered",
            detail=lambda: (
                gateway.run(STATES, endpoint),
                gateway.server.problems()[-20:],
            ),
        )
        took = time.time() - started
    finally:
        receiver.stop()
    hits = receiver.snapshot()
    twice = check_every_event_arrived_once_or_more(hits, events)
    first = min([hit.at for hit in hits] + receiver.refused)
    accepted = sum(1 for hit in hits if hit.at >= first + SETTLE)
    refused = sum(1 for at in receiver.refused if at >= first + SETTLE)
    share = accepted / (accepted + refused)
    early = len(receiver.refused) - refused
    assert share >= GOAL, f"{share:.1%} of the requests accepted after {SETTLE:g} s"
    figures.append(
        f"adaptive pacing: {count} events to a receiver taking {PER_SECOND}/s "
        f"(429 beyond): {share:.1%} of the {accepted + refused} requests after the "
        f"first {SETTLE:g} s accepted (goal >= {GOAL:.0%}); {early} refused in the "
        f"first {SETTLE:g} s; all delivered in {took:.0f} s "
        f"({count / took:.0f}/s), {twice} received twice"
    )
