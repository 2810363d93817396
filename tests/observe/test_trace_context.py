"""W3C trace context end to end: an incoming webhook carrying
``traceparent`` runs an automation that queues a webhook; the receiver
gets the same trace id with a span of its own. Over HTTP because the
trace comes from the incoming request's headers."""

import json

from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.integration_gateway.lib import trace_context
from odoo.addons.integration_gateway.plumbing import own_cursor
from odoo.addons.integration_gateway.tests.common import ApiKeyMixin, run_dispatcher
from odoo.addons.integration_gateway.tests.webhook_receiver import WebhookReceiver

try:  # optional, as in production (tools/requirements-dev.txt installs it)
    from opentelemetry import trace as otel
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        InMemorySpanExporter,
    )
except ImportError:  # pragma: no cover
    otel = None

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


_exporter = []


def span_exporter():
    """An in-memory exporter of the process's (one) tracer provider."""
    if not _exporter:
        provider = TracerProvider()
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        otel.set_tracer_provider(provider)
        _exporter.append(exporter)
    return _exporter[0]


@tagged("post_install", "-at_install")
class TestTraceContext(ApiKeyMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = WebhookReceiver().start()
        cls.addClassCleanup(cls.receiver.stop)
        partner_model = cls.env["ir.model"]._get("res.partner")
        cls.partner = cls.env["res.partner"].create({"name": "Acme", "ref": "T-1"})
        cls.validator = cls.env["integration.webhook.validator"].create(
            {
                "name": "Shop",
                "signature_scheme": "none",
                "message_id_header": "X-Message-Id",
            }
        )
        cls.automation = cls.env["base.automation"].create(
            {
                "name": "Order in, warehouse told",
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
        # Accepted calls are counted on connections of their own (committed).
        cls.addClassCleanup(cls._forget_counters, cls.validator.id)

    @classmethod
    def _forget_counters(cls, validator_id):
        with own_cursor(cls.env.cr.dbname) as cr:
            cr.execute(
                "DELETE FROM integration_metrics_counter"
                " WHERE series LIKE 'incoming_%%' AND ref = %s",
                [validator_id],
            )

    def _accepted(self):
        with own_cursor(self.env.cr.dbname) as cr:
            cr.execute(
                "SELECT COALESCE(sum(value), 0) FROM integration_metrics_counter"
                " WHERE series = 'incoming_accepted' AND ref = %s",
                [self.validator.id],
            )
            return cr.fetchone()[0]

    def setUp(self):
        super().setUp()
        self.receiver.clear()

    def _call(self, headers):
        headers = {"X-Message-Id": f"msg-{self.id()}-{len(headers)}", **headers}
        return self.url_open(
            f"/web/hook/{self.automation.webhook_uuid}",
            data=json.dumps({"ref": "T-1"}),
            headers={"Content-Type": "application/json", **headers},
        )

    def _delivery(self):
        return self.env["integration.webhook.delivery"].search(
            [("endpoint_id", "=", self.endpoint.id)], limit=1
        )

    def test_trace_goes_from_the_incoming_call_to_the_receiver(self):
        accepted = self._accepted()
        response = self._call({"traceparent": f"00-{TRACE}-{SPAN}-01"})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self._accepted(), accepted + 1, "the call is counted")
        delivery = self._delivery()
        self.assertEqual(
            (delivery.trace_id, delivery.parent_span_id), (TRACE, SPAN), delivery
        )
        self.assertEqual(delivery.origin_kind, "incoming_webhook")
        self.assertEqual(delivery.origin_automation_id, self.automation)
        self.assertEqual(delivery.origin_message_id.message_id, f"msg-{self.id()}-1")
        self.assertEqual(self.automation.webhook_delivery_count, 1)
        run_dispatcher(self)
        [received] = self.receiver.wait_for(1)
        trace_id, span_id = trace_context.parse(received.traceparent)
        self.assertEqual(trace_id, TRACE)
        self.assertNotEqual(span_id, SPAN, "an attempt is a span of its own")

    def test_a_call_without_trace_starts_one(self):
        response = self._call({"traceparent": "00-garbage-01"})
        self.assertEqual(response.status_code, 200, response.text)
        delivery = self._delivery()
        self.assertEqual(len(delivery.trace_id), 32)
        self.assertNotEqual(delivery.trace_id, TRACE)
        self.assertFalse(delivery.parent_span_id)
        run_dispatcher(self)
        [received] = self.receiver.wait_for(1)
        self.assertEqual(
            trace_context.parse(received.traceparent)[0], delivery.trace_id
        )

    def test_a_json2_call_passes_its_trace_on(self):
        partner_model = self.env["ir.model"]._get("res.partner")
        automation = self.env["base.automation"].create(
            {
                "name": "New partner, CRM told",
                "model_id": partner_model.id,
                "trigger": "on_create",
            }
        )
        automation.action_server_ids = self.env["ir.actions.server"].create(
            {
                "name": "Tell the CRM",
                "model_id": partner_model.id,
                "base_automation_id": automation.id,
                "usage": "base_automation",
                "state": "webhook",
                "webhook_url": self.receiver.url("/crm"),
            }
        )
        user = new_test_user(
            self.env, "trace_api", groups="base.group_user,base.group_partner_manager"
        )
        token, key = self.issue_key(user)
        response = self.json2(
            token,
            "res.partner",
            "create",
            headers={"traceparent": f"00-{TRACE}-{SPAN}-01"},
            vals_list=[{"name": "Traced partner"}],
        )
        self.assertEqual(response.status_code, 200, response.text)
        endpoint = automation.action_server_ids.webhook_endpoint_id
        [partner_id] = response.json()
        delivery = self.env["integration.webhook.delivery"].search(
            [("endpoint_id", "=", endpoint.id), ("res_id", "=", partner_id)]
        )
        self.assertEqual(
            (delivery.trace_id, delivery.parent_span_id, delivery.origin_kind),
            (TRACE, SPAN, "api_call"),
        )
        self.assertEqual(
            (delivery.origin_api_key_ref, delivery.origin_api_key_name),
            (key.id, key.name),
        )
        self.assertEqual(delivery.origin_call, "/json/2/res.partner/create")

    def test_opentelemetry_spans_when_installed(self):
        if otel is None:
            self.skipTest("opentelemetry-api and -sdk are not installed")
        exporter = span_exporter()
        response = self._call({"traceparent": f"00-{TRACE}-{SPAN}-01"})
        self.assertEqual(response.status_code, 200, response.text)
        exporter.clear()
        run_dispatcher(self)
        [received] = self.receiver.wait_for(1)
        spans = exporter.get_finished_spans()
        [attempt] = [span for span in spans if span.name == "webhook.attempt"]
        self.assertEqual(
            (attempt.context.trace_id, attempt.parent.span_id),
            (int(TRACE, 16), int(SPAN, 16)),
        )
        self.assertEqual(
            received.traceparent,
            f"00-{TRACE}-{attempt.context.span_id:016x}-01",
            "the receiver's parent is the attempt's span",
        )
        self.assertEqual(attempt.attributes["http.response.status_code"], 200)
        self.assertIn("webhook.dispatch_batch", [span.name for span in spans])
