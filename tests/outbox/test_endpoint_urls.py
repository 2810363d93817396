"""One endpoint per address for webhook actions, over real HTTP as an
administrator's web client saves them: another spelling of an endpoint's
URL or a trailing slash finds that endpoint (the action's URL follows it),
an action picks its endpoint, and the user is told when saving made a new
endpoint (which has a secret of its own).

Over HTTP because what matters is what the administrator's form does: its
``call_kw`` saves and onchange, and the notification sent to that user."""

import json

from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestActionEndpointUrls(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = new_test_user(
            cls.env,
            login="ig_urls_admin",
            password="ig_urls_admin_pw",
            groups="base.group_user,base.group_system",
        )
        cls.Endpoints = cls.env["integration.webhook.endpoint"]
        cls.orders = cls.Endpoints.create(
            {"name": "Orders", "url": "HTTPS://Hooks.Example.com:443/orders"}
        )
        cls.partner_model = cls.env["ir.model"]._get_id("res.partner")

    def setUp(self):
        super().setUp()
        self.authenticate("ig_urls_admin", "ig_urls_admin_pw")

    def call_kw(self, model, method, *args, **kwargs):
        response = self.url_open(
            f"/web/dataset/call_kw/{model}/{method}",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": 1,
                    "params": {
                        "model": model,
                        "method": method,
                        "args": list(args),
                        "kwargs": kwargs,
                    },
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        answer = response.json()
        self.assertNotIn("error", answer, answer)
        return answer["result"]

    def create_action(self, url):
        action_id = self.call_kw(
            "ir.actions.server",
            "create",
            {
                "name": "Notify",
                "model_id": self.partner_model,
                "state": "webhook",
                "webhook_url": url,
            },
        )
        return self.env["ir.actions.server"].browse(action_id)

    def test_urls_are_stored_in_one_spelling(self):
        self.assertEqual(self.orders.url, "https://hooks.example.com/orders")

    def test_a_trailing_slash_or_another_spelling_finds_the_endpoint(self):
        before = self.Endpoints.search_count([])
        for url in (
            "https://hooks.example.com/orders/",
            "https://HOOKS.example.com:443/orders",
        ):
            action = self.create_action(url)
            self.assertEqual(action.webhook_endpoint_id, self.orders, url)
            self.assertEqual(action.webhook_url, "https://hooks.example.com/orders")
        self.assertEqual(self.Endpoints.search_count([]), before)
        self.assertFalse(self.admin_notifications())

    def test_a_new_endpoint_is_told(self):
        action = self.create_action("https://shop.example.com/hooks/new")
        endpoint = action.webhook_endpoint_id
        self.assertNotEqual(endpoint, self.orders)
        self.assertEqual(endpoint.url, "https://shop.example.com/hooks/new")
        [message] = self.admin_notifications()
        self.assertIn(
            "created the endpoint shop.example.com/hooks/new for "
            "https://shop.example.com/hooks/new, with a signing secret of its own",
            message["message"],
        )
        self.assertEqual(message["type"], "warning")

    def test_an_action_picks_its_endpoint_and_its_url_follows(self):
        action = self.create_action("https://shop.example.com/other")
        form = self.call_kw(
            "ir.actions.server",
            "onchange",
            [action.id],
            {"webhook_endpoint_id": self.orders.id},
            ["webhook_endpoint_id"],
            {"webhook_endpoint_id": {}, "webhook_url": {}},
        )
        self.assertEqual(form["value"]["webhook_url"], self.orders.url)
        self.call_kw(
            "ir.actions.server",
            "write",
            [action.id],
            {"webhook_endpoint_id": self.orders.id},
        )
        action.invalidate_recordset()
        self.assertEqual(action.webhook_endpoint_id, self.orders)
        self.assertEqual(action.webhook_url, self.orders.url)
        # the form lets the administrator pick it
        arch = self.call_kw("ir.actions.server", "get_views", [[False, "form"]])[
            "views"
        ]["form"]["arch"]
        field = arch.split('name="webhook_endpoint_id"', 1)[1].split("/>", 1)[0]
        self.assertNotIn("readonly", field)

    def admin_notifications(self):
        """The simple notifications sent to the administrator (on their
        partner's channel, as users' notifications go)."""
        found = []
        for notification in self.env["bus.bus"].sudo().search([], order="id"):
            channel = json.loads(notification.channel)
            message = json.loads(notification.message)
            if message["type"] == "simple_notification" and channel == [
                self.env.cr.dbname,
                "res.partner",
                self.admin.partner_id.id,
            ]:
                found.append(message["payload"])
        return found
