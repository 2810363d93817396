"""Per-record order under failures: each record's changes reach the receiver
in the order they were made, on an endpoint with ``ordering`` =
``per_record``, although the receiver refuses a fifth of the requests at
random (503) and refused ones are retried; the same changes sent to an
endpoint without it arrive out of order, so that the check can fail."""

import json

import harness
import pytest
from conftest import SIZE
from outbox import FIXTURES, SETUP, STATES

pytestmark = pytest.mark.fault

FAIL_RATIO = 0.2  # of the requests answered 503, at random
SCHEDULE = ",".join(["1s"] * 10)  # a refused request is tried again soon
UPDATES = FIXTURES / "outbox_updates.py"


def _sequences(hits):
    """``{partner id: [change numbers in the order received]}`` and the
    webhook-ids received, from the requests the receiver accepted."""
    sequences, ids = {}, []
    for hit in sorted(hits, key=lambda hit: hit.at):
        body = json.loads(hit.body)
        sequences.setdefault(str(body["_id"]), []).append(int(body["function"]))
        ids.append(hit.webhook_id)
    return sequences, ids


def _out_of_order(sequences):
    """How many records' changes arrived in another order than made."""
    return sum(1 for seq in sequences.values() if seq != sorted(seq))


def test_per_record_order_under_random_503(shared_gateway, figures):
    gateway = shared_gateway
    count, updates = SIZE["ordered_records"], SIZE["ordered_updates"]
    total = count * updates
    runs = {}
    receivers = {
        ordering: harness.new_receiver() for ordering in ("per_record", "none")
    }
    try:
        for ordering, receiver in receivers.items():
            receiver.fail_ratio = FAIL_RATIO
            receiver.start()
            prefix = f"ORDER-{ordering}"
            endpoint = gateway.run(
                SETUP, receiver.url("/hook"), prefix, 20, 2, SCHEDULE, ordering, True
            )
            runs[ordering] = (
                endpoint,
                gateway.run(UPDATES, prefix, count, updates, endpoint),
            )
        for ordering, (endpoint, _events) in runs.items():
            harness.wait_for(
                lambda endpoint=endpoint: (
                    gateway.run(STATES, endpoint) == {"delivered": total}
                ),
                timeout=300,
                interval=1,
                what=f"all {total} changes delivered ({ordering})",
                detail=lambda endpoint=endpoint: (
                    gateway.run(STATES, endpoint),
                    gateway.server.problems()[-20:],
                ),
            )
    finally:
        for receiver in receivers.values():
            receiver.stop()

    results = {}
    for ordering, (_endpoint, events) in runs.items():
        receiver = receivers[ordering]
        sequences, ids = _sequences(receiver.snapshot())
        assert set(ids) == {uuid for uuids in events.values() for uuid in uuids}, (
            f"{ordering}: some changes never arrived"
        )
        assert set(sequences) == set(events)
        results[ordering] = (_out_of_order(sequences), len(receiver.refused))
    ordered_wrong, ordered_refused = results["per_record"]
    parallel_wrong, parallel_refused = results["none"]
    # With per-record order, every record's changes arrived in order, each
    # once (a change is sent again only when it was refused).
    assert ordered_wrong == 0, f"{ordered_wrong} records' changes arrived out of order"
    sequences, _ids = _sequences(receivers["per_record"].snapshot())
    assert all(seq == list(range(updates)) for seq in sequences.values())
    # Without it, the same run reorders: the check above can fail.
    assert parallel_wrong > 0, "the run without per-record order kept the order"
    figures.append(
        f"per-record order: {count} records x {updates} changes, receiver refusing "
        f"{FAIL_RATIO:.0%} at random (503): with per_record, all {total} delivered, "
        f"every record in order ({ordered_refused} refused and retried); without, "
        f"all delivered, {parallel_wrong} of {count} records out of order "
        f"({parallel_refused} refused)"
    )
