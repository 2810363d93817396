"""SIGKILL of the whole Odoo server while its crons work through queued
incoming webhook messages: after a restart every message is processed, and
each exactly once in effect (its automation's writes are there once), since
a message's run and its new state commit in one transaction. The sender's
retries of every message after the restart are acknowledged as duplicates
and stored nowhere twice."""

import concurrent.futures
import json
import time

import harness
import pytest
from conftest import FIXTURES, SCALE, SIZE
from test_fault_incoming import Sender

pytestmark = pytest.mark.fault

RUN_TIME = 0.05  # seconds the automation takes per message
IN_FLIGHT = 4  # calls sent at once
KILL_AT = 0.25  # share of the messages processed when the server is killed
SETUP = FIXTURES / "incoming_queue_validator.py"


def _states(gateway):
    return dict(
        gateway.sql(
            "SELECT state, count(*) FROM integration_webhook_message GROUP BY state"
        )
    )


def _runs(gateway):
    """How many times the automation's write is there, per message number."""
    return dict(
        gateway.sql(
            "SELECT name->>'en_US', count(*) FROM res_partner_category"
            " WHERE name->>'en_US' LIKE 'inq-%' GROUP BY 1"
        )
    )


def test_kill_9_while_processing_queued_messages(gateway_factory, figures):
    count = SIZE["queued_messages"]
    gateway = gateway_factory("inqueue", workers=2, cron_workers=2)
    setup = gateway.run(SETUP, RUN_TIME)
    gateway.start()
    sender = Sender(gateway.server.port, gateway.db, setup["uuid"], setup["secret"])
    calls = [
        sender.signed(json.dumps({"n": n}).encode(), msg_id=f"q-{n}")
        for n in range(count)
    ]

    def send_all():
        with concurrent.futures.ThreadPoolExecutor(IN_FLIGHT) as pool:
            return list(pool.map(lambda call: sender.send(*call), calls))

    started = time.monotonic()
    answers = send_all()
    accepted_in = time.monotonic() - started
    assert all(status == 202 for status, _body in answers), answers[:5]
    assert {body["id"] for _status, body in answers} == {f"q-{n}" for n in range(count)}

    harness.wait_for(
        lambda: _states(gateway).get("done", 0) >= count * KILL_AT,
        timeout=120,
        interval=0.02,
        what=f"{count * KILL_AT:.0f} messages processed",
    )
    gateway.server.kill()
    killed_at = time.monotonic()
    before = _states(gateway)
    # Killed in the middle: some done, some still waiting.
    assert 0 < before.get("done", 0) < count, before

    gateway.start()
    if SCALE == "short":
        # A sender keeps sending: its next message wakes the queue's crons
        # at once. (At full size nothing more is sent, and the messages
        # left waiting are found by the crons' own round, within a minute
        # of the restart.)
        extra = sender.signed(json.dumps({"n": count}).encode(), msg_id=f"q-{count}")
        assert sender.send(*extra)[0] == 202
        calls.append(extra)
        count += 1
    harness.wait_for(
        lambda: _states(gateway) == {"done": count},
        timeout=180,
        what="every message processed after the restart",
        detail=lambda: (_states(gateway), gateway.server.problems()[-20:]),
    )
    recovered = time.monotonic() - killed_at
    runs = _runs(gateway)
    assert set(runs) == {f"inq-{n}" for n in range(count)}, "a message was lost"
    twice = {name: n for name, n in runs.items() if n != 1}
    assert not twice, f"messages whose automation's writes happened twice: {twice}"

    # The sender, unsure what was processed, sends everything again.
    retried = send_all()
    assert all(
        answer == (200, {"status": "ok", "duplicate": True}) for answer in retried
    )
    assert _states(gateway) == {"done": count}
    assert sum(_runs(gateway).values()) == count
    figures.append(
        f"incoming queue kill -9: {len(answers)} messages accepted (202) in "
        f"{accepted_in:.1f} s, server killed with {before.get('done', 0)} processed; "
        f"all {count} processed exactly once {recovered:.0f} s after the kill"
        f"{' (one more sent after the restart)' if SCALE == 'short' else ''}; "
        f"{count} retries by the sender answered as duplicates"
    )
