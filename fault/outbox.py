"""What the outgoing-webhook fault tests share: a queued webhook on partner
creation pointing at a receiver, events made in one transaction, and the
check that every event arrived with its own webhook-id."""

import json
from pathlib import Path

from lib.outbox import sender

# The fixtures run against the database (see harness.run_script).
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# The dispatcher's lease, shortened so that the deliveries a killed server
# left in sending go out again within seconds, not minutes; the endpoint's
# timeout and the margin of 10 s fit in it with room for a batch.
LEASE = 20  # seconds
TIMEOUT = 2  # seconds, the endpoint's

# After a crash, at most the requests in flight are sent again: the sender's
# concurrency for each dispatcher (dispatcher crons, by default 2).
DISPATCHERS = 2
MAX_TWICE = sender.CONCURRENCY * DISPATCHERS

SETUP = FIXTURES / "outbox_endpoint.py"

# Creates partners in one transaction: one queued delivery each, written
# with them and woken at commit. Returns {partner id: webhook-id}.
EVENTS = FIXTURES / "outbox_events.py"

STATES = FIXTURES / "outbox_states.py"


def check_every_event_arrived_once_or_more(hits, events):
    """Every event (``{partner id: webhook-id}``) reached the receiver with
    its own original webhook-id, and nothing else did. Returns how many
    events were received more than once."""
    by_id = {}
    for hit in hits:
        body = json.loads(hit.body)
        assert events.get(str(body["_id"])) == hit.webhook_id, (
            f"partner {body['_id']} arrived with webhook-id {hit.webhook_id}, "
            f"queued as {events.get(str(body['_id']))}"
        )
        by_id.setdefault(hit.webhook_id, 0)
        by_id[hit.webhook_id] += 1
    missing = set(events.values()) - set(by_id)
    assert not missing, f"{len(missing)} events never arrived"
    assert len(by_id) == len(events)
    return sum(1 for count in by_id.values() if count > 1)
