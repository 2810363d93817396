"""The partner portal clicked through in a real browser by a portal user,
taking the README's portal screenshots (``make screenshots``)."""

import datetime
import json
from unittest.mock import patch

from odoo import fields
from odoo.fields import Command
from odoo.tests import new_test_user, tagged

from ...lib import portal as portal_lib
from ..common import forget_rate_limits, make_due, run_dispatcher
from ..ui.tour_screenshots import ScreenshotTourCase
from ..webhook_receiver import WebhookReceiver

# What the tour's new endpoint's host resolves to: a public address, never
# connected to (the tour sends nothing there).
PUBLIC_ADDRESS = "93.184.215.14"


def tour_dns(host):
    if host == "hooks.northwind.example":
        return [PUBLIC_ADDRESS]
    raise OSError(f"{host}: no DNS in tests")


@tagged("post_install", "-at_install")
class TestPortalTours(ScreenshotTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = WebhookReceiver().start()
        cls.addClassCleanup(cls.receiver.stop)
        patcher = patch.object(portal_lib, "resolve", tour_dns)
        patcher.start()
        cls.addClassCleanup(patcher.stop)
        name_field = cls.env["ir.model.fields"]._get("res.partner", "name")
        EventType = cls.env["integration.webhook.event.type"]
        cls.created, cls.updated = (
            EventType.create(
                {
                    "name": f"partner.contact.{what}",
                    "description": f"A contact was {what}.",
                    "model_id": cls.env.ref("base.model_res_partner").id,
                    "field_ids": [Command.set(name_field.ids)],
                    "portal_published": True,
                }
            )
            for what in ("created", "updated")
        )
        cls.policy = cls.env["integration.api.policy"].create(
            {
                "name": "Orders, read-only",
                "read_only": True,
                "rate_limit": "100/minute",
                "max_key_lifetime_days": 90,
                "rule_ids": [
                    Command.create(
                        {"model_pattern": "sale.order", "method_pattern": "search_read"}
                    )
                ],
            }
        )
        cls.company = cls.env["res.partner"].create(
            {
                "name": "Northwind Traders",
                "is_company": True,
                "integration_portal_endpoints": True,
                "integration_portal_keys": True,
                "integration_portal_policy_ids": [Command.set(cls.policy.ids)],
            }
        )
        cls.user = new_test_user(
            cls.env,
            login="ig_portal_tour",
            name="Nora Winter",
            groups="base.group_portal",
        )
        cls.user.partner_id.parent_id = cls.company

    def setUp(self):
        super().setUp()
        # The portal's rate limit counts on connections of its own.
        self.addCleanup(forget_rate_limits, self.env.cr.dbname, "portal:%")

    def test_endpoints_on_the_portal(self):
        warehouse = self.env["integration.webhook.endpoint"].create(
            {
                "name": "Northwind warehouse",
                "url": self.receiver.url("/script/northwind"),
                "allow_private_network": True,
                "retry_schedule": "1s",
                "partner_id": self.company.id,
                "event_type_ids": [Command.set(self.updated.ids)],
            }
        )
        # A delivery the receiver failed twice: dead.
        self.receiver.scripts["northwind"].extend([(503, {}, b"maintenance")] * 2)
        dead = self.env["integration.webhook.delivery"]._enqueue_event(
            warehouse,
            json.dumps({"_model": "res.partner", "_id": 7, "_action": "Notify"}),
            event_type=self.updated,
        )
        run_dispatcher(self)
        make_due(dead)
        run_dispatcher(self)
        self.assertEqual(dead.state, "dead")
        secret = warehouse.secret

        self.start_screenshot_tour(
            "/my",
            "integration_gateway_portal_endpoints",
            "portal_integrations_tour.js",
            login="ig_portal_tour",
        )

        created = self.env["integration.webhook.endpoint"].search(
            [("url", "=", "https://hooks.northwind.example/odoo")]
        )
        self.assertEqual(created.partner_id, self.company)
        self.assertEqual(created.event_type_ids, self.created)
        self.assertEqual(created.payload_format, "standard")
        self.assertFalse(created.allow_private_network)
        [test_event] = warehouse.delivery_ids.filtered("is_test")
        self.assertEqual(test_event.state, "delivered")
        self.assertEqual(test_event.event_type_id, self.updated)
        self.assertEqual(json.loads(self.receiver.requests[-1].body)["_id"], 0)
        self.assertEqual(dead.state, "pending")
        self.assertEqual(warehouse.previous_secret, secret)
        self.assertNotEqual(warehouse.secret, secret)
        run_dispatcher(self)
        self.assertEqual(dead.state, "delivered")

    def test_api_keys_on_the_portal(self):
        ApiKeys = self.env["res.users.apikeys"]
        expiry = fields.Datetime.now() + datetime.timedelta(days=60)
        token = ApiKeys.with_user(self.user).sudo()._generate(None, "Shop sync", expiry)
        key = ApiKeys.sudo().browse(ApiKeys._integration_key_id_of(token))
        key.integration_policy_id = self.policy
        today = fields.Date.today()
        self.env["integration.api.usage"].create(
            [
                {
                    "date": today - datetime.timedelta(days=days),
                    "key_id": key.id,
                    "key_name": key.name,
                    "user_id": self.user.id,
                    "calls": 40 + (days * 37) % 60,
                    "rate_limited": 6 if days in (3, 4) else 0,
                    "denied": 2 if days == 10 else 0,
                }
                for days in range(20)
            ]
        )
        self.start_screenshot_tour(
            "/my",
            "integration_gateway_portal_keys",
            "portal_integrations_tour.js",
            login="ig_portal_tour",
        )
