"""The partner portal over real HTTP, as two portal users of two companies.

Over HTTP because what is checked is what a portal session can reach: its
pages (404 for someone else's ids), their forms (CSRF, the password before
a secret is shown, the SSRF refusal, the rate limit) and the JSON-RPC of
the same session, which must not go further than the pages.
"""

import html
import json
import re
from unittest.mock import patch

from odoo import fields
from odoo.fields import Command
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ...lib import portal as portal_lib
from ..common import forget_rate_limits
from ..webhook_receiver import WebhookReceiver

ADMIN_HEADERS = {"X-Receiver-Token": "for-the-receiver-only"}


def no_dns(host):
    """Resolves nothing, so that no test sends a DNS query out."""
    raise OSError(f"{host}: no DNS in tests")


@tagged("post_install", "-at_install")
class TestPortalHttp(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = WebhookReceiver().start()
        cls.addClassCleanup(cls.receiver.stop)
        patcher = patch.object(portal_lib, "resolve", no_dns)
        patcher.start()
        cls.addClassCleanup(patcher.stop)
        Partner = cls.env["res.partner"]
        cls.event_type = cls.env["integration.webhook.event.type"].create(
            {
                "name": "partner.portal.changed",
                "model_id": cls.env.ref("base.model_res_partner").id,
                "field_ids": [
                    Command.set(
                        cls.env["ir.model.fields"]
                        .search([("model", "=", "res.partner"), ("name", "=", "name")])
                        .ids
                    )
                ],
                "portal_published": True,
            }
        )
        cls.hidden_type = cls.env["integration.webhook.event.type"].create(
            {
                "name": "partner.internal.changed",
                "model_id": cls.env.ref("base.model_res_partner").id,
            }
        )
        cls.policy = cls.env["integration.api.policy"].create(
            {"name": "Orders read", "read_only": True, "max_key_lifetime_days": 30}
        )
        cls.users, cls.endpoints = {}, {}
        for tag in ("a", "b"):
            company = Partner.create(
                {
                    "name": f"Company {tag.upper()}",
                    "is_company": True,
                    "integration_portal_endpoints": True,
                    "integration_portal_keys": True,
                    "integration_portal_policy_ids": [(6, 0, cls.policy.ids)],
                }
            )
            user = new_test_user(
                cls.env, login=f"ig_portal_{tag}", groups="base.group_portal"
            )
            user.partner_id.parent_id = company
            cls.users[tag] = user
            cls.endpoints[tag] = cls.env["integration.webhook.endpoint"].create(
                {
                    "name": f"Receiver of {tag.upper()}",
                    "url": cls.receiver.url(f"/ok/{tag}"),
                    "allow_private_network": True,
                    "headers": json.dumps(ADMIN_HEADERS),
                    "partner_id": company.id,
                }
            )
        cls.delivery_b = cls.env["integration.webhook.delivery"]._enqueue(
            cls.endpoints["b"], json.dumps({"_model": "res.partner", "_id": 1})
        )

    def setUp(self):
        super().setUp()
        self.receiver.clear()
        self.addCleanup(forget_rate_limits, self.env.cr.dbname, "portal:%")

    # -- helpers ----------------------------------------------------------

    def login(self, tag):
        self.authenticate(f"ig_portal_{tag}", f"ig_portal_{tag}")

    def csrf(self):
        page = self.url_open("/my/integrations/endpoints/new")
        self.assertEqual(page.status_code, 200, page.text)
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def post(self, route, **data):
        data.setdefault("csrf_token", self.csrf())
        return self.url_open(route, data=data, allow_redirects=False)

    # -- tests --------------------------------------------------------------

    def test_the_other_companys_ids_answer_404(self):
        self.login("a")
        own, other = self.endpoints["a"], self.endpoints["b"]
        listing = self.url_open("/my/integrations")
        self.assertIn(own.name, listing.text)
        self.assertNotIn(other.name, listing.text)
        self.assertEqual(
            self.url_open(f"/my/integrations/endpoints/{own.id}").status_code, 200
        )
        for url in (
            f"/my/integrations/endpoints/{other.id}",
            f"/my/integrations/endpoints/{other.id}/edit",
            f"/my/integrations/endpoints/{other.id}/deliveries",
            f"/my/integrations/deliveries/{self.delivery_b.id}",
            "/my/integrations/endpoints/999999",
        ):
            self.assertEqual(self.url_open(url).status_code, 404, url)
        for action in ("rotate", "test", "delete", "secret", "active", "replay"):
            url = f"/my/integrations/endpoints/{other.id}/{action}"
            self.assertEqual(self.post(url).status_code, 404, url)
        retry = self.post(f"/my/integrations/deliveries/{self.delivery_b.id}/retry")
        self.assertEqual(retry.status_code, 404)
        self.assertTrue(other.exists())
        self.assertEqual(self.receiver.requests, [])
        # Nor through the session's JSON-RPC.
        answer = self.call_kw(
            "integration.webhook.endpoint", "read", [other.ids, ["url"]]
        )
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")

    @mute_logger("odoo.http")
    def test_private_destinations_are_refused(self):
        self.login("a")
        Endpoint = self.env["integration.webhook.endpoint"]
        for url in (
            "http://127.0.0.1:8069/hook",
            "https://10.20.30.40/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost:8080/hook",
            "http://[::1]/hook",
        ):
            response = self.post(
                "/my/integrations/endpoints/new", name="Sneaky", url=url
            )
            self.assertEqual(response.status_code, 422, url)
            self.assertIn("cannot be used", response.text)
            self.assertFalse(Endpoint.search([("url", "=", url)]), url)
        # Nor by moving an endpoint that may reach them.
        own = self.endpoints["a"]
        response = self.post(
            f"/my/integrations/endpoints/{own.id}/edit",
            name=own.name,
            url="http://127.0.0.2/",
        )
        self.assertEqual(response.status_code, 422)
        self.assertEqual(own.url, self.receiver.url("/ok/a"))
        # A public address is taken, subscribed to a published type only;
        # nothing is sent to it.
        response = self.post(
            "/my/integrations/endpoints/new",
            name="Shop",
            url="https://93.184.215.14/hooks",
            event_type_ids=str(self.event_type.id),
        )
        self.assertEqual(response.status_code, 303, response.text)
        created = Endpoint.search([("url", "=", "https://93.184.215.14/hooks")])
        self.assertEqual(created.partner_id, self.users["a"].partner_id.parent_id)
        self.assertEqual(created.event_type_ids, self.event_type)
        self.assertFalse(created.sudo().allow_private_network)
        answer = self.call_kw(
            "integration.webhook.endpoint",
            "write",
            [created.ids, {"event_type_ids": [(6, 0, self.hidden_type.ids)]}],
        )
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")
        # And deleted.
        deleted = self.post(f"/my/integrations/endpoints/{created.id}/delete")
        self.assertEqual(deleted.status_code, 303)
        self.assertFalse(created.exists())

    def test_disable_enable_and_replay(self):
        self.login("a")
        own = self.endpoints["a"]
        dead = self.env["integration.webhook.delivery"].create(
            {"endpoint_id": own.id, "payload": "{}", "state": "dead"}
        )
        url = f"/my/integrations/endpoints/{own.id}"
        response = self.post(f"{url}/replay", since="2000-01-01")
        self.assertEqual(response.status_code, 303)
        self.assertEqual(dead.state, "pending")
        self.assertEqual(self.post(f"{url}/active", active="0").status_code, 303)
        self.assertFalse(own.active)
        self.assertIn("Disabled", self.url_open("/my/integrations").text)
        self.assertEqual(self.post(f"{url}/active", active="1").status_code, 303)
        self.assertTrue(own.active)

    def test_deliveries_are_filtered_and_paged(self):
        own = self.endpoints["a"]
        Delivery = self.env["integration.webhook.delivery"]
        Delivery.create(
            [
                {
                    "endpoint_id": own.id,
                    "payload": json.dumps({"n": n}),
                    "state": "dead" if n % 2 else "delivered",
                    "event_type_id": self.event_type.id if n < 4 else False,
                }
                for n in range(45)
            ]
        )
        self.login("a")
        url = f"/my/integrations/endpoints/{own.id}/deliveries"
        rows = re.compile(r'class="o_integration_delivery_row"')
        page = self.url_open(url)
        self.assertEqual(len(rows.findall(page.text)), 20)
        self.assertIn(f"{url}/page/3", page.text)
        last = self.url_open(f"{url}/page/3")
        self.assertEqual(len(rows.findall(last.text)), 5)
        dead = self.url_open(f"{url}?state=dead")
        self.assertEqual(dead.text.count('data-state="dead"'), 20)
        self.assertNotIn('data-state="delivered"', dead.text)
        typed = self.url_open(f"{url}?event_type_id={self.event_type.id}")
        self.assertEqual(len(rows.findall(typed.text)), 4)
        later = self.url_open(f"{url}?since=2999-01-01")
        self.assertEqual(len(rows.findall(later.text)), 0)

    @mute_logger("odoo.http")
    def test_partners_without_permission_see_nothing(self):
        company = self.users["a"].partner_id.parent_id
        company.write(
            {
                "integration_portal_endpoints": False,
                "integration_portal_keys": False,
                "integration_portal_policy_ids": [Command.clear()],
            }
        )
        self.login("a")
        own = self.endpoints["a"]
        for url in (
            "/my/integrations",
            "/my/integrations/keys",
            f"/my/integrations/endpoints/{own.id}",
        ):
            self.assertEqual(self.url_open(url).status_code, 404, url)
        self.assertNotIn("/my/integrations", self.url_open("/my").text)
        answer = self.call_kw(
            "integration.webhook.endpoint", "write", [own.ids, {"name": "Mine"}]
        )
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")
        # The back office: the company's form counts and opens its endpoints.
        self.assertEqual(company.integration_endpoint_count, 1)
        self.assertEqual(self.users["a"].partner_id.integration_endpoint_count, 1)
        action = company.action_open_integrations()
        self.assertEqual(self.env[action["res_model"]].search(action["domain"]), own)

    @mute_logger("odoo.http")
    def test_extra_headers_are_neither_shown_nor_editable(self):
        self.login("a")
        own = self.endpoints["a"]
        page = self.url_open(f"/my/integrations/endpoints/{own.id}")
        self.assertNotIn("for-the-receiver-only", page.text)
        self.assertNotIn("X-Receiver-Token", page.text)
        for vals in ({"headers": "{}"}, {"allow_private_network": True}):
            answer = self.call_kw(
                "integration.webhook.endpoint", "write", [own.ids, vals]
            )
            self.assertEqual(
                answer["error"]["data"]["name"], "odoo.exceptions.AccessError", vals
            )
        self.assertEqual(json.loads(own.sudo().headers), ADMIN_HEADERS)

    @mute_logger("odoo.http")
    def test_forms_need_the_csrf_token(self):
        self.login("a")
        own = self.endpoints["a"]
        secret = own.sudo().secret
        response = self.post(
            f"/my/integrations/endpoints/{own.id}/rotate", csrf_token="forged"
        )
        self.assertEqual(response.status_code, 400)
        own.invalidate_recordset()
        self.assertEqual(own.sudo().secret, secret)
        response = self.post(f"/my/integrations/endpoints/{own.id}/rotate")
        self.assertEqual(response.status_code, 303)
        own.invalidate_recordset()
        self.assertNotEqual(own.sudo().secret, secret)
        self.assertEqual(own.sudo().previous_secret, secret)

    @mute_logger("odoo.http")
    def test_the_secret_needs_the_password(self):
        self.login("a")
        own = self.endpoints["a"]
        url = f"/my/integrations/endpoints/{own.id}/secret"
        secret = own.sudo().secret
        for password in ("", "not-the-password"):
            response = self.post(url, password=password)
            self.assertEqual(response.status_code, 403, password)
            self.assertNotIn(secret, response.text)
        response = self.post(url, password="ig_portal_a")
        self.assertEqual(response.status_code, 200)
        self.assertIn(secret, response.text)
        self.assertEqual(response.headers["Cache-Control"], "no-store")

    @mute_logger("odoo.http")
    def test_an_ed25519_endpoint_shows_its_public_key_never_its_private_key(self):
        own = self.endpoints["a"]
        own.sudo().write({"signature_algorithm": "ed25519"})
        own.sudo().write({"previous_secret": False})  # no HMAC grace period
        private_key, public_key = own.sudo().secret, own.public_key
        self.assertTrue(private_key.startswith("whsk_"))
        self.login("a")
        page = self.url_open(f"/my/integrations/endpoints/{own.id}")
        self.assertEqual(page.status_code, 200)
        self.assertIn(public_key, page.text)
        response = self.post(
            f"/my/integrations/endpoints/{own.id}/secret", password="ig_portal_a"
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn(public_key, response.text)
        self.assertNotIn(private_key, response.text)

    @mute_logger("odoo.http")
    def test_test_events_are_rate_limited(self):
        self.login("a")
        own = self.endpoints["a"]
        token = self.csrf()
        url = f"/my/integrations/endpoints/{own.id}/test"
        for _n in range(10):
            response = self.post(url, csrf_token=token)
            self.assertEqual(response.status_code, 303)
            self.assertIn("/my/integrations/deliveries/", response.headers["Location"])
        self.assertEqual(len(self.receiver.wait_for(10)), 10)
        self.assertEqual(
            self.receiver.requests[0].headers["x-receiver-token"],
            "for-the-receiver-only",
        )
        response = self.post(url, csrf_token=token)
        self.assertEqual(response.status_code, 429)
        self.assertTrue(int(response.headers["Retry-After"]) > 0)
        self.assertEqual(len(self.receiver.requests), 10)
        # Another user has a limit of their own.
        self.login("b")
        response = self.post(
            f"/my/integrations/endpoints/{self.endpoints['b'].id}/test"
        )
        self.assertEqual(response.status_code, 303)

    def test_retries_are_rate_limited(self):
        self.login("a")
        dead = self.env["integration.webhook.delivery"].create(
            {"endpoint_id": self.endpoints["a"].id, "payload": "{}", "state": "dead"}
        )
        token = self.csrf()
        url = f"/my/integrations/deliveries/{dead.id}/retry"
        for _n in range(10):
            self.assertEqual(self.post(url, csrf_token=token).status_code, 303)
        self.assertEqual(dead.state, "pending")
        refused = self.post(url, csrf_token=token)
        self.assertEqual(refused.status_code, 429)
        self.assertIn("Rate limit exceeded", refused.text)

    @mute_logger("odoo.http")
    def test_keys_of_the_company_only(self):
        ApiKeys = self.env["res.users.apikeys"]
        keys = {}
        for tag, user in self.users.items():
            token = ApiKeys.with_user(user).sudo()._generate(None, f"key {tag}", None)
            keys[tag] = ApiKeys.sudo().browse(ApiKeys._integration_key_id_of(token))
        self.login("a")
        page = self.url_open("/my/integrations/keys")
        self.assertEqual(page.status_code, 200)
        self.assertIn("key a", page.text)
        self.assertNotIn("key b", page.text)
        revoke = self.post(f"/my/integrations/keys/{keys['b'].id}/revoke")
        self.assertEqual(revoke.status_code, 404)
        foreign = self.url_open(f"/my/integrations/keys?key_id={keys['b'].id}")
        self.assertEqual(foreign.status_code, 404)
        # The chart of one key: its calls, not its colleagues'.
        Usage = self.env["integration.api.usage"]
        for tag, calls in (("a", 7), ("b", 900)):
            Usage.create(
                {
                    "date": fields.Date.today(),
                    "key_id": keys[tag].id,
                    "user_id": self.users[tag].id,
                    "calls": calls,
                }
            )
        chart = self.url_open(f"/my/integrations/keys?key_id={keys['a'].id}")
        usage = json.loads(
            html.unescape(re.search(r'data-usage="([^"]+)"', chart.text).group(1))
        )
        self.assertEqual(usage["calls"][-1], 7)
        self.assertEqual(sum(usage["calls"]), 7)
        self.assertTrue(keys["b"].exists())
        # Issuing asks for the password and caps the lifetime by the policy.
        form = {"name": "BI", "policy_id": str(self.policy.id), "days": "365"}
        refused = self.post("/my/integrations/keys/new", **form)
        self.assertEqual(refused.status_code, 422)
        issued = self.post("/my/integrations/keys/new", password="ig_portal_a", **form)
        self.assertEqual(issued.status_code, 200)
        token = re.search(r"user-select-all[^>]*>([0-9a-f]{40})<", issued.text).group(1)
        key = ApiKeys.sudo().browse(ApiKeys._integration_key_id_of(token))
        self.assertEqual(key.integration_policy_id, self.policy)
        self.assertEqual(key.user_id, self.users["a"])
        self.assertLessEqual((key.expiration_date - key.create_date).days, 30)
        revoke = self.post(f"/my/integrations/keys/{keys['a'].id}/revoke")
        self.assertEqual(revoke.status_code, 303)
        self.assertFalse(keys["a"].exists())

    def call_kw(self, model, method, args):
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
                        "kwargs": {},
                    },
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        return response.json()
