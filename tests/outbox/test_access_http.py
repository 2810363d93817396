"""Endpoint actions and writes over the RPC a client really uses.

Over real HTTP against the test server because what they check is what a
request can do: call any public method (a portal user's session through
``/web/dataset/call_kw``, an API key through JSON/2) and pass any context
it likes.
"""

import json

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..common import ApiKeyMixin
from ..webhook_receiver import WebhookReceiver

ADMIN_HEADERS = {"X-Receiver-Token": "for-the-receiver-only"}


@tagged("post_install", "-at_install")
class TestEndpointOverRpc(ApiKeyMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = WebhookReceiver().start()
        cls.addClassCleanup(cls.receiver.stop)
        cls.portal = new_test_user(
            cls.env, login="ig_http_portal", groups="base.group_portal"
        )
        cls.employee = new_test_user(
            cls.env, login="ig_http_employee", groups="base.group_user"
        )
        cls.manager = new_test_user(
            cls.env,
            login="ig_http_manager",
            groups="integration_gateway.group_integration_manager",
        )

    def setUp(self):
        super().setUp()
        self.receiver.clear()
        self.endpoint = self.env["integration.webhook.endpoint"].create(
            {
                "name": "Warehouse",
                "url": self.receiver.url("/ok"),
                "allow_private_network": True,
                "headers": json.dumps(ADMIN_HEADERS),
            }
        )

    def _call_kw(self, model, method, args, kwargs=None):
        response = self.url_open(
            "/web/dataset/call_kw",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {
                        "model": model,
                        "method": method,
                        "args": args,
                        "kwargs": kwargs or {},
                    },
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def _assertNothingSent(self):
        self.assertEqual(self.receiver.requests, [])
        self.assertFalse(
            self.env["integration.webhook.delivery"].search(
                [("endpoint_id", "=", self.endpoint.id)]
            )
        )

    @mute_logger("odoo.http")
    def test_portal_session_cannot_send_a_test_event(self):
        self.authenticate("ig_http_portal", "ig_http_portal")
        answer = self._call_kw(
            "integration.webhook.endpoint", "action_send_test_event", [self.endpoint.id]
        )
        self.assertEqual(
            answer["error"]["data"]["name"], "odoo.exceptions.AccessError", answer
        )
        self.assertNotIn("result", answer)
        self._assertNothingSent()

    @mute_logger("odoo.http")
    def test_internal_user_key_cannot_send_a_test_event(self):
        token, _key = self.issue_key(self.employee)
        response = self.json2(
            token,
            "integration.webhook.endpoint",
            "action_send_test_event",
            ids=[self.endpoint.id],
        )
        self.assertEqual(response.status_code, 403, response.text)
        self._assertNothingSent()

        # A manager's key sends it, with the administrator's headers.
        token, _key = self.issue_key(self.manager)
        response = self.json2(
            token,
            "integration.webhook.endpoint",
            "action_send_test_event",
            ids=[self.endpoint.id],
        )
        self.assertEqual(response.status_code, 200, response.text)
        received = self.receiver.wait_for(1)[0]
        self.assertEqual(received.headers["x-receiver-token"], "for-the-receiver-only")

    def test_the_same_url_saved_again_keeps_the_administrators_settings(self):
        """A form saved as it was sends the URL again: nothing moved."""
        token, _key = self.issue_key(self.manager)
        response = self.json2(
            token,
            "integration.webhook.endpoint",
            "write",
            ids=[self.endpoint.id],
            vals={"url": self.endpoint.url, "name": "Warehouse (renamed)"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.endpoint.invalidate_recordset()
        self.assertEqual(self.endpoint.name, "Warehouse (renamed)")
        self.assertTrue(self.endpoint.allow_private_network)
        self.assertEqual(json.loads(self.endpoint.headers), ADMIN_HEADERS)

    def test_a_managers_new_url_loses_the_administrators_settings(self):
        """The receiver's credentials do not follow the endpoint elsewhere."""
        token, _key = self.issue_key(self.manager)
        response = self.json2(
            token,
            "integration.webhook.endpoint",
            "write",
            ids=[self.endpoint.id],
            vals={"url": "https://elsewhere.example.com/hook"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.endpoint.invalidate_recordset()
        self.assertFalse(self.endpoint.allow_private_network)
        self.assertFalse(self.endpoint.headers)
        self.assertIn(
            "the extra headers and the permission to reach private networks were "
            "removed",
            "".join(self.endpoint.message_ids.mapped("body")),
        )

    def test_internal_context_key_does_nothing_from_a_request(self):
        """The key that keeps an endpoint's URL from reaching its server
        actions is the addon's own: a client that sends it still moves the
        actions along with the endpoint."""
        action = self.env["ir.actions.server"].create(
            {
                "name": "Notify warehouse",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "state": "webhook",
                "webhook_url": self.endpoint.url,
            }
        )
        self.assertEqual(action.webhook_endpoint_id, self.endpoint)
        new_url = "https://warehouse.example.com/hook"
        token, _key = self.issue_key(self.manager)
        response = self.json2(
            token,
            "integration.webhook.endpoint",
            "write",
            ids=[self.endpoint.id],
            vals={"url": new_url},
            context={"integration_syncing_url": True},
        )
        self.assertEqual(response.status_code, 200, response.text)
        action.invalidate_recordset()
        self.assertEqual(action.webhook_url, new_url)
        self.assertEqual(action.webhook_endpoint_id, self.endpoint)

        # Through a session's call_kw too.
        newer_url = "https://warehouse2.example.com/hook"
        self.authenticate("ig_http_manager", "ig_http_manager")
        answer = self._call_kw(
            "integration.webhook.endpoint",
            "write",
            [[self.endpoint.id], {"url": newer_url}],
            {"context": {"integration_syncing_url": True}},
        )
        self.assertIs(answer.get("result"), True, answer)
        action.invalidate_recordset()
        self.assertEqual(action.webhook_url, newer_url)
