"""PostgreSQL restarted while webhooks are dispatched: the dispatchers get
their connections back by themselves, and nothing is lost.

The test runs a PostgreSQL cluster of its own (``IG_FAULT_PG_PORT`` and
``IG_FAULT_PG_DIR`` choose its port and folder; by default a free port and
a temporary folder), copies the template database into it, and restarts it
with ``pg_ctl restart -m fast``, which ends every connection, in the middle
of the dispatch."""

import os
import shutil
import tempfile
import time
from pathlib import Path

import harness
import pytest
from conftest import SIZE, Gateway, db_name
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
RESTART_AT = 0.25  # share of the events received when PostgreSQL restarts


@pytest.fixture
def private_postgres():
    port = int(os.environ.get("IG_FAULT_PG_PORT") or harness.allocate_port())
    given = os.environ.get("IG_FAULT_PG_DIR")
    folder = Path(given or tempfile.mkdtemp(prefix="ig_faults_pg_"))
    cluster = harness.PrivatePostgres(port, folder)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        if not given:
            shutil.rmtree(folder, ignore_errors=True)


def test_postgres_restart_mid_dispatch(private_postgres, template, figures):
    count = SIZE["restart_events"]
    name = db_name("restart")
    private_postgres.copy_database(template.name, name)
    with harness.OdooEnv(prefix="ig_faults_pg_", pg=private_postgres.params) as odoo:
        gateway = Gateway(odoo, name, workers=2, cron_workers=2)
        try:
            with harness.new_receiver(delay=ANSWER_DELAY) as receiver:
                endpoint = gateway.run(
                    SETUP, receiver.url("/hook"), "RESTART", LEASE, TIMEOUT, ""
                )
                gateway.start()
                events = gateway.run(EVENTS, "RESTART", count, endpoint)
                harness.wait_for(
                    lambda: len(receiver.snapshot()) >= count * RESTART_AT,
                    timeout=120,
                    interval=0.01,
                    what=f"{count * RESTART_AT:.0f} deliveries",
                )
                before = len(receiver.snapshot())
                restarted_at = time.monotonic()
                private_postgres.restart(mode="fast")
                assert before < count, "the dispatch was over before the restart"
                # Nothing is done for Odoo: its workers reconnect by themselves.
                harness.wait_for(
                    lambda: (
                        {hit.webhook_id for hit in receiver.snapshot()}
                        >= set(events.values())
                    ),
                    timeout=LEASE + 120,
                    what=f"all {count} events delivered after the restart",
                )
                recovered = time.monotonic() - restarted_at
                harness.wait_for(
                    lambda: gateway.run(STATES, endpoint) == {"delivered": count},
                    timeout=LEASE + 120,
                    # Those sent but not recorded when the fault struck are
                    # sent again once their lease expires, by the next
                    # dispatcher round.
                    what="every delivery recorded as delivered",
                    detail=lambda: (
                        gateway.run(STATES, endpoint),
                        gateway.server.problems()[-20:],
                    ),
                )
                settled = time.monotonic() - restarted_at
                hits = receiver.snapshot()
            assert gateway.server.process.poll() is None, "the server kept running"
        finally:
            if gateway.server is not None:
                gateway.server.stop()
            harness.drop_database(name, pg=private_postgres.params)

    twice = check_every_event_arrived_once_or_more(hits, events)
    # Outcomes are recorded as requests end: only those in flight when the
    # fault struck are sent again.
    assert twice <= MAX_TWICE, f"{twice} events received twice"
    figures.append(
        f"PostgreSQL restart: {count} events, PostgreSQL restarted after {before} "
        f"arrived; all delivered {recovered:.0f} s after the restart with their "
        f"original webhook-id, {len({h.webhook_id for h in hits})} distinct ids, "
        f"{twice} received twice (goal <= {MAX_TWICE}); all recorded delivered "
        f"{settled:.0f} s after "
        f"(lease {LEASE} s)"
    )
