"""The delivery engine against the real receiver: per-record order, the
circuit breaker and adaptive pacing, one dispatcher run at a time (the
fault suite measures them under load)."""

import json
from datetime import timedelta
from unittest.mock import patch

import psycopg2.errors

from odoo import fields
from odoo.tests import tagged

from ..common import WebhookCase


@tagged("post_install", "-at_install")
class TestDeliveryEngine(WebhookCase):
    def enqueue_about(self, endpoint, record_id, seq):
        payload = {"_model": "res.partner", "_id": record_id, "seq": seq}
        record = self.env["res.partner"].browse(record_id)
        return self.Delivery._enqueue(
            endpoint, json.dumps(payload, sort_keys=True), record=record
        )

    def received(self):
        return [
            (json.loads(hit.body)["_id"], json.loads(hit.body)["seq"])
            for hit in self.receiver.snapshot()
        ]

    def test_per_record_order_waits_for_the_older_delivery(self):
        endpoint = self.make_endpoint("/script/order", ordering="per_record")
        partners = self.env["res.partner"].create([{"name": "A"}, {"name": "B"}])
        a, b = partners.ids
        self.receiver.scripts["order"].append((503, {}, b"busy"))
        first = self.enqueue_about(endpoint, a, 1)
        second = self.enqueue_about(endpoint, a, 2)
        self.dispatch()
        other = self.enqueue_about(endpoint, b, 1)
        self.dispatch()
        # The first of A was refused and waits for its retry; the second of A
        # waits for it, B went its own way.
        self.assertEqual(first.state, "retrying")
        self.assertEqual(second.state, "pending")
        self.assertEqual(other.state, "delivered")
        self.assertEqual(second.waiting_for_id, first)
        self.assertFalse(other.waiting_for_id)
        self.assertEqual(sorted(self.received()), [(a, 1), (b, 1)])
        self.make_due(first | second)
        self.dispatch()
        self.assertEqual(self.received()[2:], [(a, 1)])
        # The next run (the cron goes on at once) sends the second.
        self.dispatch()
        self.assertEqual(self.received()[2:], [(a, 1), (a, 2)])
        self.assertEqual((first | second).mapped("state"), ["delivered"] * 2)

    def test_a_cancelled_older_delivery_releases_the_next(self):
        endpoint = self.make_endpoint("/status/500", ordering="per_record")
        partner = self.env["res.partner"].create({"name": "A"})
        first = self.enqueue_about(endpoint, partner.id, 1)
        second = self.enqueue_about(endpoint, partner.id, 2)
        self.dispatch()
        self.assertEqual((first.state, second.state), ("retrying", "pending"))
        first.action_cancel()
        endpoint.url = self.receiver.url("/ok")
        self.dispatch()
        self.assertEqual(second.state, "delivered")
        self.assertEqual(self.received(), [(partner.id, 1), (partner.id, 2)])

    def test_without_per_record_order_deliveries_go_in_parallel(self):
        endpoint = self.make_endpoint("/script/parallel")
        partner = self.env["res.partner"].create({"name": "A"})
        self.receiver.scripts["parallel"].append((503, {}, b"busy"))
        first = self.enqueue_about(endpoint, partner.id, 1)
        second = self.enqueue_about(endpoint, partner.id, 2)
        self.dispatch()
        # Sent side by side: one of them got the 503.
        self.assertEqual(
            sorted((first | second).mapped("state")), ["delivered", "retrying"]
        )
        self.assertFalse(second.waiting_for_id)

    def test_the_circuit_opens_holds_back_and_closes_on_a_probe(self):
        self.env["ir.config_parameter"].set_param(
            "integration_gateway.circuit_failure_threshold", 3
        )
        endpoint = self.make_endpoint("/status/500", retry_schedule="1h,1h")
        deliveries = self.Delivery
        for seq in range(8):
            deliveries |= self.enqueue(endpoint, {"_id": seq, "seq": seq})
        self.dispatch()
        # Three tries at most before the circuit opened; the others were not
        # tried and keep their whole schedule.
        self.assertEqual(len(self.receiver.snapshot()), 3)
        self.assertEqual(endpoint.circuit_state, "open")
        self.assertEqual(endpoint.circuit_failures, 3)
        self.assertTrue(endpoint.circuit_next_probe_at > endpoint.circuit_opened_at)
        untried = deliveries.filtered(lambda d: not d.attempt_count)
        self.assertEqual(len(untried), 5)
        self.assertEqual(set(untried.mapped("state")), {"pending"})
        # Due, but behind the open circuit: nothing is sent.
        self.dispatch()
        self.assertEqual(len(self.receiver.snapshot()), 3)
        # The probe time comes; one probe, which fails: open again, longer.
        self._probe_due(endpoint)
        self.dispatch()
        self.assertEqual(len(self.receiver.snapshot()), 4)
        self.assertEqual(endpoint.circuit_state, "open")
        self.assertEqual(endpoint.circuit_trips, 1)
        # The receiver is back: the probe succeeds and the backlog goes at
        # once, retries scheduled an hour away included.
        endpoint.url = self.receiver.url("/ok")
        self._probe_due(endpoint)
        self.dispatch()
        self.assertEqual(endpoint.circuit_state, "closed")
        self.assertEqual(len(self.receiver.snapshot()), 5)
        # The cron goes on at once with what the circuit held back.
        self.dispatch()
        self.assertEqual(set(deliveries.mapped("state")), {"delivered"})
        self.assertEqual(len(self.receiver.snapshot()), 4 + 8)
        # Nobody's schedule was spent behind the open circuit: one failure
        # at most each (the first three, and the failed probe).
        self.assertEqual(sum(deliveries.mapped("attempt_count")), 12)
        self.assertEqual(max(deliveries.mapped("attempt_count")), 2)

    def test_a_429_paces_the_endpoint_and_retry_after_pauses_it(self):
        endpoint = self.make_endpoint("/status/429?retry_after=30")
        self.enqueue(endpoint)
        self.dispatch()
        self.assertEqual(self.received_count(), 1)
        self.assertGreater(endpoint.pace_rate, 0)
        # Paused for the Retry-After: a new delivery, due now, waits.
        self.assertGreater(endpoint.throttle_next_at, fields.Datetime.now().timestamp())
        self.enqueue(endpoint)
        self.dispatch()
        self.assertEqual(self.received_count(), 1)

    def received_count(self):
        return len(self.receiver.snapshot())

    def _probe_due(self, endpoint):
        endpoint.flush_recordset()
        self.env.cr.execute(
            "UPDATE integration_webhook_endpoint SET circuit_next_probe_at = %s "
            "WHERE id = %s",
            [fields.Datetime.now() - timedelta(seconds=1), endpoint.id],
        )
        endpoint.invalidate_recordset()

    def test_a_receiver_that_is_down_opens_the_circuit(self):
        endpoint = self.make_endpoint()
        endpoint.url = "http://127.0.0.1:9/hook"  # nothing listens: refused
        deliveries = self.Delivery
        for seq in range(40):
            deliveries |= self.enqueue(endpoint, {"_id": seq, "seq": seq})
        self.dispatch()
        self.assertEqual(endpoint.circuit_state, "open")
        self.assertLessEqual(len(deliveries.attempt_ids), 5)
        self.assertEqual(len(deliveries.filtered(lambda d: not d.attempt_count)), 35)

    # -- deliveries left in sending by a dispatcher that died ------------------

    def _left_sending(self, deliveries):
        """``deliveries`` as a dispatcher that died leaves them: in sending,
        their lease over."""
        deliveries.flush_recordset()
        self.env.cr.execute(
            "UPDATE integration_webhook_delivery SET state = 'sending',"
            " lease_expires_at = %s, lease_token = 'dead' WHERE id = ANY(%s)",
            [fields.Datetime.now() - timedelta(seconds=1), deliveries.ids],
        )
        deliveries.invalidate_recordset()

    def _open_circuit(self, endpoint):
        endpoint.flush_recordset()
        self.env.cr.execute(
            "UPDATE integration_webhook_endpoint SET circuit_state = 'open',"
            " circuit_failures = 5, circuit_trips = 1, circuit_opened_at = %s"
            " WHERE id = %s",
            [fields.Datetime.now() - timedelta(seconds=5), endpoint.id],
        )
        self._probe_due(endpoint)

    def test_sending_left_behind_an_open_circuit_on_a_per_record_endpoint(self):
        endpoint = self.make_endpoint("/ok", ordering="per_record")
        partners = self.env["res.partner"].create([{"name": "A"}, {"name": "B"}])
        heads = self.Delivery
        rest = self.Delivery
        for partner in partners:
            heads |= self.enqueue_about(endpoint, partner.id, 1)
            rest |= self.enqueue_about(endpoint, partner.id, 2)
        self._left_sending(heads)
        self._open_circuit(endpoint)
        # The probe is a delivery left in sending: every waiting one is
        # behind one of those. It succeeds and the circuit closes.
        self.dispatch()
        self.assertEqual(endpoint.circuit_state, "closed")
        for _run in range(3):
            self.dispatch()
        self.assertEqual(set((heads | rest).mapped("state")), {"delivered"})
        for partner in partners:
            self.assertEqual(
                [seq for record, seq in self.received() if record == partner.id],
                [1, 2],
            )

    def test_sending_left_behind_a_pause_is_claimed_when_it_ends(self):
        endpoint = self.make_endpoint("/ok")
        deliveries = self.enqueue(endpoint) | self.enqueue(endpoint)
        self._left_sending(deliveries)
        endpoint.flush_recordset()
        self.env.cr.execute(
            "UPDATE integration_webhook_endpoint SET throttle_next_at = %s"
            " WHERE id = %s",
            [fields.Datetime.now().timestamp() + 3600, endpoint.id],
        )
        endpoint.invalidate_recordset()
        self.dispatch()
        self.assertEqual(set(deliveries.mapped("state")), {"sending"})
        self.assertEqual(self.received_count(), 0)
        self.env.cr.execute(
            "UPDATE integration_webhook_endpoint SET throttle_next_at = NULL"
            " WHERE id = %s",
            [endpoint.id],
        )
        endpoint.invalidate_recordset()
        self.dispatch()
        self.assertEqual(set(deliveries.mapped("state")), {"delivered"})

    def test_a_probe_is_not_held_back_by_its_own_half_open_circuit(self):
        # A batch with more deliveries than the sender runs at once, the
        # probe last: it starts only once others ended, when the batch
        # checks which endpoints to hold back.
        self.env["ir.config_parameter"].set_param(
            "integration_gateway.circuit_failure_threshold", 50
        )
        probed = self.make_endpoint("/ok")
        busy = self.make_endpoint("/ok")
        waiting = self.enqueue(probed, {"_id": 0, "seq": 0})
        others = self.Delivery
        for seq in range(40):
            others |= self.enqueue(busy, {"_id": seq + 1, "seq": seq})
        self._open_circuit(probed)
        self.dispatch()
        self.assertEqual(waiting.state, "delivered")
        self.assertEqual(probed.circuit_state, "closed")
        self.assertEqual(set(others.mapped("state")), {"delivered"})

    def test_the_cron_lingers_for_the_probe_of_deliveries_left_in_sending(self):
        endpoint = self.make_endpoint("/ok")
        deliveries = self.enqueue(endpoint) | self.enqueue(endpoint)
        self._left_sending(deliveries)
        self._open_circuit(endpoint)
        dispatcher = self.env["integration.webhook.dispatcher"]
        self.assertTrue(dispatcher._next_probe(fields.Datetime.now()))

    def test_an_outcome_colliding_again_and_again_is_still_recorded(self):
        # Dispatchers record each request as it ends, on the same endpoint
        # row: a run of collisions longer than a claim would bear must not
        # leave a delivery sent in sending, to be sent again after its lease.
        endpoint = self.make_endpoint("/ok")
        delivery = self.enqueue(endpoint)
        dispatcher = type(self.env["integration.webhook.dispatcher"])
        update_health = dispatcher._update_health
        collisions = []

        def colliding(recordset, health, now):
            if len(collisions) < 8:
                collisions.append(now)
                raise psycopg2.errors.SerializationFailure("concurrent update")
            return update_health(recordset, health, now)

        with patch.object(dispatcher, "_update_health", colliding):
            self.dispatch()
        self.assertEqual(len(collisions), 8)
        self.assertEqual(delivery.state, "delivered")
        self.assertEqual(self.received_count(), 1)
