"""Queued incoming webhooks are observed as immediate ones are: the call
is counted as accepted, the queue is exposed (messages by state, runs and
failures), and the trace of the call goes, through the message and the
cron that runs it, to the deliveries its automation queues and to the
receiver. Over HTTP because the trace comes from the call's headers."""

import json

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from odoo import SUPERUSER_ID, api, sql_db
from odoo.tests import HttpCase, tagged

from odoo.addons.integration_gateway.lib import trace_context
from odoo.addons.integration_gateway.plumbing import own_cursor
from odoo.addons.integration_gateway.tests.common import (
    run_dispatcher,
    run_incoming_queue,
)
from odoo.addons.integration_gateway.tests.webhook_receiver import WebhookReceiver

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"


def samples(body, validator_id):
    """``{(sample name, state): value}`` of ``validator_id``'s series."""
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.labels.get("validator_id") == str(validator_id):
                found[sample.name, sample.labels.get("state")] = sample.value
    return found


@tagged("post_install", "-at_install")
class TestQueuedObserve(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = WebhookReceiver().start()
        cls.addClassCleanup(cls.receiver.stop)
        partner_model = cls.env["ir.model"]._get("res.partner")
        cls.env["res.partner"].create({"name": "Acme", "ref": "Q-1"})
        cls.validator = cls.env["integration.webhook.validator"].create(
            {
                "name": "Queued shop",
                "signature_scheme": "none",
                "message_id_header": "X-Message-Id",
                "processing": "queued",
            }
        )
        cls.automation = cls.env["base.automation"].create(
            {
                "name": "Queued order in, warehouse told",
                "model_id": partner_model.id,
                "trigger": "on_webhook",
                "record_getter": "model.search([('ref', '=', payload.get('ref'))])",
                "webhook_validator_id": cls.validator.id,
            }
        )
        action = cls.env["ir.actions.server"].create(
            {
                "name": "Tell the warehouse",
                "model_id": partner_model.id,
                "base_automation_id": cls.automation.id,
                "usage": "base_automation",
                "state": "webhook",
                "webhook_url": cls.receiver.url("/ok"),
            }
        )
        cls.automation.action_server_ids = action
        cls.endpoint = action.webhook_endpoint_id
        cls.endpoint.sudo().allow_private_network = True
        # Counters are committed on connections of their own.
        cls.addClassCleanup(cls._forget_counters, cls.validator.id)

    @classmethod
    def _forget_counters(cls, validator_id):
        with own_cursor(cls.env.cr.dbname) as cr:
            cr.execute(
                "DELETE FROM integration_metrics_counter"
                " WHERE series LIKE 'incoming_%%' AND ref = %s",
                [validator_id],
            )

    def setUp(self):
        super().setUp()
        self.receiver.clear()

    def _counters(self):
        """The validator's series as a scrape on a connection of its own
        reads them: the committed counters."""
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            body, _kind = env["integration.metrics"]._render()
        return samples(body, self.validator.id)

    def _gauges(self):
        """The validator's series as the test's transaction sees them."""
        body, _kind = self.env["integration.metrics"]._render()
        return samples(body, self.validator.id)

    def _call(self, message_id, headers=None):
        return self.url_open(
            f"/web/hook/{self.automation.webhook_uuid}",
            data=json.dumps({"ref": "Q-1"}),
            headers={
                "Content-Type": "application/json",
                "X-Message-Id": message_id,
                **(headers or {}),
            },
        )

    def _message(self, message_id):
        return self.env["integration.webhook.message"].search(
            [("validator_id", "=", self.validator.id), ("message_id", "=", message_id)]
        )

    def test_queued_call_traced_to_the_receiver_and_counted(self):
        accepted = "odoo_integration_incoming_accepted_total", None
        attempts = "odoo_integration_incoming_queue_attempts_total", None
        failures = "odoo_integration_incoming_queue_failures_total", None
        queued = "odoo_integration_incoming_queue_messages", "queued"
        before = self._counters()
        response = self._call("q-traced", {"traceparent": f"00-{TRACE}-{SPAN}-01"})
        self.assertEqual(response.status_code, 202, response.text)
        message = self._message("q-traced")
        self.assertEqual((message.trace_id, message.parent_span_id), (TRACE, SPAN))
        counted = self._counters()
        self.assertEqual(counted[accepted], before.get(accepted, 0) + 1)
        gauges = self._gauges()
        self.assertEqual(gauges[queued], 1)
        self.assertIn(
            ("odoo_integration_incoming_queue_oldest_waiting_seconds", None), gauges
        )
        body, _kind = self.env["integration.metrics"]._render(
            "application/openmetrics-text"
        )
        [waiting] = [
            sample.value
            for family in openmetrics_families(body.decode())
            for sample in family.samples
            if sample.name == "odoo_integration_incoming_queue_messages"
            and sample.labels
            == {
                "validator_id": str(self.validator.id),
                "validator": "Queued shop",
                "state": "queued",
            }
        ]
        self.assertEqual(waiting, 1)

        run_incoming_queue(self)
        self.assertEqual(message.state, "done")
        counted = self._counters()
        self.assertEqual(counted[attempts], before.get(attempts, 0) + 1)
        self.assertEqual(counted.get(failures, 0), before.get(failures, 0))
        self.assertNotIn(queued, self._gauges(), "no message waits any more")
        delivery = self.env["integration.webhook.delivery"].search(
            [("endpoint_id", "=", self.endpoint.id)]
        )
        self.assertEqual(len(delivery), 1)
        self.assertEqual(
            (delivery.trace_id, delivery.parent_span_id, delivery.origin_kind),
            (TRACE, SPAN, "incoming_webhook"),
        )
        self.assertEqual(delivery.origin_message_id, message)
        self.assertEqual(delivery.origin_automation_id, self.automation)
        # The message's form links to the deliveries it caused.
        self.assertEqual(message.delivery_count, 1)
        action = message.action_open_caused_deliveries()
        self.assertEqual(
            self.env["integration.webhook.delivery"].search(action["domain"]), delivery
        )

        run_dispatcher(self)
        [received] = self.receiver.wait_for(1)
        trace_id, span_id = trace_context.parse(received.traceparent)
        self.assertEqual(trace_id, TRACE)
        self.assertNotEqual(span_id, SPAN, "an attempt is a span of its own")

    def test_call_without_trace_gets_one_its_deliveries_share(self):
        response = self._call("q-untraced")
        self.assertEqual(response.status_code, 202, response.text)
        message = self._message("q-untraced")
        self.assertEqual(len(message.trace_id or ""), 32)
        self.assertFalse(message.parent_span_id)
        run_incoming_queue(self)
        delivery = self.env["integration.webhook.delivery"].search(
            [("origin_message_id", "=", message.id)]
        )
        self.assertEqual(delivery.trace_id, message.trace_id)
        self.assertFalse(delivery.parent_span_id, "no caller span, not 'false'")

    def test_failed_runs_counted_and_message_retrying_gauged(self):
        attempts = "odoo_integration_incoming_queue_attempts_total", None
        failures = "odoo_integration_incoming_queue_failures_total", None
        self.automation.record_getter = "model.browse(payload['missing'])"
        before = self._counters()
        response = self._call("q-failing")
        self.assertEqual(response.status_code, 202, response.text)
        run_incoming_queue(self)
        message = self._message("q-failing")
        self.assertEqual(message.state, "retrying", message.last_error)
        counted = self._counters()
        self.assertEqual(counted[attempts], before.get(attempts, 0) + 1)
        self.assertEqual(counted[failures], before.get(failures, 0) + 1)
        gauges = self._gauges()
        self.assertEqual(
            gauges[("odoo_integration_incoming_queue_messages", "retrying")], 1
        )
        self.assertFalse(message.delivery_count)
