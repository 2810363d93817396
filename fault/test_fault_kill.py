"""SIGKILL of the whole Odoo server (master, HTTP and cron workers) while it
dispatches a backlog of webhooks: after a restart every event is delivered
at least once, with its original webhook-id."""

import time

import harness
import pytest
from conftest import SIZE
from outbox import (
    EVENTS,
    LEASE,
    MAX_TWICE,
    SETUP,
    STATES,
    TIMEOUT,
    check_every_event_arrived_once_or_more,
)

pytestmark = pytest.mark.fault

ANSWER_DELAY = 0.05  # seconds the receiver takes: the dispatch takes a while
KILL_AT = 0.25  # share of the events received when the server is killed


def test_kill_9_mid_dispatch_loses_nothing(gateway_factory, figures):
    count = SIZE["kill_events"]
    gateway = gateway_factory("kill", workers=2, cron_workers=2)
    with harness.new_receiver(delay=ANSWER_DELAY) as receiver:
        endpoint = gateway.run(SETUP, receiver.url("/hook"), "KILL", LEASE, TIMEOUT, "")
        gateway.start()
        events = gateway.run(EVENTS, "KILL", count, endpoint)

        harness.wait_for(
            lambda: len(receiver.snapshot()) >= count * KILL_AT,
            timeout=120,
            interval=0.01,
            what=f"{count * KILL_AT:.0f} deliveries",
        )
        gateway.server.kill()
        killed_at = time.monotonic()
        before = len(receiver.snapshot())
        states = gateway.run(STATES, endpoint)
        # Killed in the middle: some delivered, some claimed and in flight,
        # some not claimed yet.
        assert 0 < before < count, before
        assert states.get("sending", 0) > 0, states
        assert states.get("delivered", 0) < count, states

        gateway.start()
        harness.wait_for(
            lambda: (
                {hit.webhook_id for hit in receiver.snapshot()} >= set(events.values())
            ),
            timeout=LEASE + 120,
            what=f"all {count} events delivered after the restart",
        )
        recovered = time.monotonic() - killed_at
        harness.wait_for(
            lambda: gateway.run(STATES, endpoint) == {"delivered": count},
            timeout=LEASE + 120,
            # Those sent but not recorded when the fault struck are sent
            # again once their lease expires, by the next dispatcher round.
            what="every delivery recorded as delivered",
            detail=lambda: (
                gateway.run(STATES, endpoint),
                gateway.server.problems()[-20:],
            ),
        )
        settled = time.monotonic() - killed_at
        hits = receiver.snapshot()

    twice = check_every_event_arrived_once_or_more(hits, events)
    # Outcomes are recorded as requests end: only those in flight when the
    # fault struck are sent again.
    assert twice <= MAX_TWICE, f"{twice} events received twice"
    figures.append(
        f"kill -9: {count} events, server killed after {before} arrived "
        f"({states.get('sending', 0)} in flight, {states.get('delivered', 0)} "
        f"recorded delivered, {states.get('pending', 0)} waiting); all {count} "
        f"delivered {recovered:.0f} s after the kill with their original "
        f"webhook-id, {len({h.webhook_id for h in hits})} distinct ids, "
        f"{twice} received twice (goal <= {MAX_TWICE}); all recorded delivered "
        f"{settled:.0f} s after "
        f"(lease {LEASE} s)"
    )
