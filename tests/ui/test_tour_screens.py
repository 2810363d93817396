from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestScreensTour(HttpCase):
    """The delivery screens in a real browser: smart buttons open what they
    count, the Deliveries menu opens on Waiting and Dead, deliveries are
    found by their record and from it, and buttons and list actions act
    only where they can (static/src/js/tours/integration_screens_tour.js)."""

    def test_screens(self):
        now = fields.Datetime.now()
        endpoint = self.env["integration.webhook.endpoint"].create(
            {
                "name": "Tour screens",
                "url": "https://receiver.example.com/screens",
                "disabled_at": now,
                "disabled_reason": "gone",
            }
        )
        customer, other = self.env["res.partner"].create(
            [{"name": "Screens Customer"}, {"name": "Someone Else"}]
        )
        Delivery = self.env["integration.webhook.delivery"].sudo()

        def delivery(record, state, **values):
            return Delivery.create(
                {
                    "endpoint_id": endpoint.id,
                    "payload": '{"_model": "res.partner"}',
                    "res_model": "res.partner",
                    "res_id": record.id,
                    "state": state,
                    **values,
                }
            )

        dead_customer = delivery(customer, "dead")
        dead_other = delivery(other, "dead")
        pending = delivery(customer, "pending")
        delivered = delivery(other, "delivered", delivered_at=now)
        stuck = delivery(
            customer,
            "sending",
            lease_expires_at=now - timedelta(minutes=5),
            lease_token="gone-dispatcher",
        )

        self.start_tour(
            "/odoo/action-integration_gateway.integration_webhook_endpoint_action"
            "?debug=1",
            "integration_gateway_screens",
            login="admin",
        )
        self.assertEqual(
            (dead_customer | dead_other | pending | stuck).mapped("state"),
            ["cancelled"] * 4,
        )
        self.assertEqual(delivered.state, "delivered")
