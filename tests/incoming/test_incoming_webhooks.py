"""Validated incoming webhooks, over real HTTP against the test server.

These tests post real requests to ``/web/hook/<uuid>`` because what they
check happens in Odoo's HTTP stack: the size and content-type checks run in
``ir.http._pre_dispatch`` before the body is read, rejections are committed
on their own connection while the request's transaction rolls back, and
replay protection depends on the transaction that runs the automation.
"""

import json
import socket
import time
from datetime import UTC, datetime
from unittest.mock import patch
from urllib.parse import urlencode

from standardwebhooks.webhooks import Webhook

from odoo import sql_db
from odoo.tests import HttpCase, tagged
from odoo.tools import config

from odoo.addons.integration_gateway.lib import standard_webhooks as sw
from odoo.addons.integration_gateway.lib import webhook_signatures as ws
from odoo.addons.integration_gateway.plumbing import own_cursor

BASE_AUTOMATION_LOGGER = "odoo.addons.base_automation.models.base_automation"
SECRET = "a-shared-secret-of-the-sender"
OTHER_SECRET = "someone-elses-secret"
SCHEMA = {
    "type": "object",
    "required": ["ref", "amount"],
    "properties": {
        "ref": {"type": "string"},
        "amount": {"type": "integer", "minimum": 0},
        "lines": {"type": "array", "items": {"required": ["sku"]}},
    },
}


class IncomingWebhookCase(HttpCase):
    """Helpers: an automation on a partner that counts its runs in the
    partner's ``color``, requests signed per scheme, and rejections read
    from their own connection (they are committed, the test's data is not).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create({"name": "Acme", "ref": "ACME-1"})
        cls.partner_model = cls.env["ir.model"]._get("res.partner")
        cls.webhook_uuids = []

    def setUp(self):
        super().setUp()
        self.addCleanup(self._delete_rejections)

    @classmethod
    def _automation(cls, validator=None, **values):
        automation = cls.env["base.automation"].create(
            {
                "name": "Count webhook runs",
                "model_id": cls.partner_model.id,
                "trigger": "on_webhook",
                "record_getter": "model.search([('ref', '=', payload.get('ref'))], "
                "limit=1)",
                "webhook_validator_id": validator and validator.id,
                **values,
            }
        )
        action = cls.env["ir.actions.server"].create(
            {
                "name": "Count",
                "model_id": cls.partner_model.id,
                "base_automation_id": automation.id,
                "usage": "base_automation",
                "state": "code",
                "code": "record.write({'color': record.color + 1})",
            }
        )
        automation.action_server_ids = action
        cls.webhook_uuids.append(automation.webhook_uuid)
        return automation

    @classmethod
    def _validator(cls, **values):
        return cls.env["integration.webhook.validator"].create(
            {"name": "Sender", "secret": SECRET, **values}
        )

    @classmethod
    def _unsigned_validator(cls, **values):
        """A validator of plain-text calls without signature nor replay
        protection: the automation gets Odoo's own payload."""
        return cls._validator(
            signature_scheme="none",
            secret=False,
            allowed_content_types="text/plain",
            replay_protection=False,
            **values,
        )

    def _runs(self):
        self.partner.invalidate_recordset(["color"])
        return self.partner.color

    def _post(self, automation, body, headers=None, content_type="application/json"):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        headers = {"Content-Type": content_type, **(headers or {})}
        return self.url_open(
            f"/web/hook/{automation.webhook_uuid}", data=body, headers=headers
        )

    def _rejections(self, automation):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "SELECT reason, status_code, message, validator_ref, validator_name,"
                " automation_name, remote_addr, request_headers, body_excerpt, count"
                " FROM integration_webhook_rejection WHERE webhook_uuid = %s"
                " ORDER BY id",
                [automation.webhook_uuid],
            )
            return cr.dictfetchall()

    def _delete_rejections(self):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "DELETE FROM integration_webhook_rejection"
                " WHERE webhook_uuid = ANY(%s)",
                [self.webhook_uuids],
            )

    def assertRefused(self, response, status, reason):
        self.assertEqual(response.status_code, status, response.text)
        body = response.json()
        self.assertEqual((body["status"], body["error"]), ("error", reason), body)
        self.assertTrue(body["message"])
        return body


def _payload(ref="ACME-1", **values):
    return json.dumps({"ref": ref, "amount": 10, **values}).encode()


def _standard_webhooks_headers(secret, msg_id, body, timestamp=None):
    """Signed by the reference ``standardwebhooks`` library."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    when = datetime.fromtimestamp(timestamp, UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body.decode()),
    }


@tagged("post_install", "-at_install")
class TestSignatureSchemes(IncomingWebhookCase):
    """Per scheme: a valid signature runs the automation; a tampered body, a
    wrong secret, a missing header and (where a time is signed) an old
    timestamp are refused with 401; the secondary secret is accepted."""

    def _check_scheme(
        self, scheme, sign, *, secret=SECRET, other=OTHER_SECRET, old=None, **values
    ):
        validator = self._validator(
            signature_scheme=scheme,
            secret=other,
            secondary_secret=secret,
            replay_protection=False,
            **values,
        )
        automation = self._automation(validator)
        body = _payload()

        response = self._post(automation, body, sign(secret, body))
        self.assertEqual(response.json(), {"status": "ok"}, "secondary secret")
        self.assertEqual(self._runs(), 1)

        validator.write({"secret": secret, "secondary_secret": False})
        self.assertEqual(
            self._post(automation, body, sign(secret, body)).status_code, 200
        )
        self.assertEqual(self._runs(), 2)

        refusals = {
            "tampered body": (_payload(amount=11), sign(secret, body)),
            "wrong secret": (body, sign(other, body)),
            "missing header": (body, {}),
        }
        if old:
            refusals["old timestamp"] = (body, old(secret, body))
        messages = {}
        for case, (sent, headers) in refusals.items():
            with self.subTest(scheme=scheme, case=case):
                response = self._post(automation, sent, headers)
                messages[case] = self.assertRefused(response, 401, "signature")[
                    "message"
                ]
        self.assertEqual(self._runs(), 2, "a refused call ran the automation")
        # Repeated refusals from one address are counted on one record.
        [rejection] = self._rejections(automation)
        self.assertEqual(
            (rejection["reason"], rejection["count"]), ("signature", len(refusals))
        )
        self.assertNotIn(secret, json.dumps(rejection, default=str))
        self.assertNotIn(other, json.dumps(rejection, default=str))
        return messages

    def test_standard_webhooks(self):
        counter = iter(range(100))

        def sign(key, body, timestamp=None):
            msg_id = f"msg_{next(counter)}"
            return _standard_webhooks_headers(key, msg_id, body, timestamp)

        messages = self._check_scheme(
            "standard_webhooks",
            sign,
            secret=sw.generate_secret(),
            other=sw.generate_secret(),
            old=lambda key, body: sign(key, body, time.time() - 301),
        )
        self.assertIn("missing webhook-id", messages["missing header"])
        self.assertIn("tolerance 300 s", messages["old timestamp"])

    def test_stripe(self):
        self._check_scheme(
            "stripe",
            lambda key, body: {"Stripe-Signature": ws.sign_stripe(key, body)},
            secret="whsec_Zm9vYmFyYmF6cXV4",
            old=lambda key, body: {
                "Stripe-Signature": ws.sign_stripe(key, body, time.time() - 301)
            },
        )

    def test_github(self):
        self._check_scheme(
            "github",
            lambda key, body: {"X-Hub-Signature-256": ws.sign_github(key, body)},
        )

    def test_shopify(self):
        self._check_scheme(
            "shopify",
            lambda key, body: {"X-Shopify-Hmac-Sha256": ws.sign_shopify(key, body)},
        )

    def test_custom_hmac(self):
        custom = ws.CustomHmac(
            header="X-Signature", algorithm="sha512", encoding="base64", prefix="v1="
        )
        self._check_scheme(
            "custom_hmac",
            lambda key, body: {"X-Signature": ws.sign_custom(custom, key, body)},
            signature_header="X-Signature",
            signature_algorithm="sha512",
            signature_encoding="base64",
            signature_prefix="v1=",
        )


@tagged("post_install", "-at_install")
class TestIncomingWebhookChecks(IncomingWebhookCase):
    """Replays, size, content type, networks, JSON, schema, and what is
    recorded of a refusal."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.validator = cls._validator(
            signature_scheme="github",
            json_schema=json.dumps(SCHEMA),
            max_body_bytes=2048,
        )
        cls.automation = cls._automation(cls.validator)

    def _signed(self, body, delivery="delivery-1", **headers):
        return {
            "X-Hub-Signature-256": ws.sign_github(SECRET, body),
            "X-GitHub-Delivery": delivery,
            **headers,
        }

    # Replays -------------------------------------------------------------------

    def test_a_call_is_resolved_once(self):
        """The validator and automation of a call are looked up once per
        request, in the pre-dispatch hook; the controller reads them back
        from the request rather than looking them up again."""
        automation = self._automation(self._validator(signature_scheme="github"))
        Validator = type(self.env["integration.webhook.validator"])
        lookup = Validator._webhook_validated_uuids
        lookups = []

        def counted(model):
            lookups.append(model)
            return lookup(model)

        with patch.object(Validator, "_webhook_validated_uuids", counted):
            response = self._post(automation, _payload())
        self.assertRefused(response, 401, "signature")
        self.assertEqual(len(lookups), 1)

    def test_replay_of_a_processed_message_is_acknowledged_without_running(self):
        body = _payload()
        response = self._post(self.automation, body, self._signed(body))
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(self._runs(), 1)

        response = self._post(self.automation, body, self._signed(body))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"status": "ok", "duplicate": True})
        self.assertEqual(self._runs(), 1, "the retry ran the automation again")

        response = self._post(self.automation, body, self._signed(body, "delivery-2"))
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(self._runs(), 2)

        # Another automation remembers its own messages.
        other = self._automation(self._validator(signature_scheme="github"))
        self.assertEqual(
            self._post(other, body, self._signed(body)).json()["status"], "ok"
        )
        self.assertEqual(self._runs(), 3)
        self.assertFalse(self._rejections(self.automation))

    def test_replay_after_the_window_runs_again(self):
        body = _payload()
        self._post(self.automation, body, self._signed(body))
        seen = self.env["integration.webhook.message"].search(
            [("validator_id", "=", self.validator.id)]
        )
        self.assertEqual(seen.message_id, "delivery-1")
        self.env.cr.execute(
            "UPDATE integration_webhook_message"
            " SET received_at = received_at - interval '25 hours' WHERE id = %s",
            [seen.id],
        )
        self.assertEqual(
            self._post(self.automation, body, self._signed(body)).json(),
            {"status": "ok"},
        )
        self.assertEqual(self._runs(), 2)

    def test_retry_of_a_failed_message_runs_again(self):
        body = _payload(ref="NEW-1")
        with self.assertLogs(BASE_AUTOMATION_LOGGER, "WARNING") as logs:
            response = self._post(self.automation, body, self._signed(body, "d-9"))
        self.assertEqual(response.status_code, 500)
        self.assertEqual(response.json(), {"status": "error"})
        self.assertIn("no record to run it on was found", logs.output[0])
        self.assertFalse(
            self.env["integration.webhook.message"].search([("message_id", "=", "d-9")])
        )

        partner = self.env["res.partner"].create({"name": "New", "ref": "NEW-1"})
        response = self._post(self.automation, body, self._signed(body, "d-9"))
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(partner.color, 1)
        response = self._post(self.automation, body, self._signed(body, "d-9"))
        self.assertEqual(response.json(), {"status": "ok", "duplicate": True})
        partner.invalidate_recordset(["color"])
        self.assertEqual(partner.color, 1)

    def test_missing_message_id_is_refused(self):
        body = _payload()
        headers = self._signed(body)
        del headers["X-GitHub-Delivery"]
        body_json = self.assertRefused(
            self._post(self.automation, body, headers), 400, "no_message_id"
        )
        self.assertIn("X-GitHub-Delivery", body_json["message"])
        self.assertEqual(self._runs(), 0)

    # Size -----------------------------------------------------------------------

    def _raw_request(self, head):
        """Sends a request head on a socket of our own and returns the status
        line and body of the answer. Fails if the server does not answer
        within 5 s, as it would if it waited for a body that never comes."""
        cookie = "test_request_key={}"
        self.env.flush_all()
        with self.allow_requests():
            head = head.replace("{cookie}", cookie.format(self.http_request_key))
            with socket.create_connection(("127.0.0.1", self.http_port()), 5) as conn:
                conn.sendall(head.encode())
                started = time.monotonic()
                answer = b""
                while chunk := conn.recv(65536):
                    answer += chunk
                elapsed = time.monotonic() - started
        status, _sep, rest = answer.partition(b"\r\n")
        return status.decode(), rest.partition(b"\r\n\r\n")[2], elapsed

    def test_oversize_body_is_refused_without_being_read(self):
        head = (
            f"POST /web/hook/{self.automation.webhook_uuid} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{self.http_port()}\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 5242880\r\n"
            "Cookie: {cookie}\r\n\r\n"
        )
        # Only the head is sent: a server reading the 5 MB body would wait.
        status, body, elapsed = self._raw_request(head)
        self.assertIn(" 413 ", status)
        self.assertLess(elapsed, 5)
        answer = json.loads(body)
        self.assertEqual(answer["error"], "too_large")
        self.assertIn("5242880 bytes", answer["message"])
        self.assertIn("at most 2048", answer["message"])
        [rejection] = self._rejections(self.automation)
        self.assertEqual(
            (rejection["reason"], rejection["status_code"]), ("too_large", 413)
        )
        self.assertFalse(rejection["body_excerpt"])
        self.assertEqual(self._runs(), 0)

    def test_oversize_body_over_plain_http(self):
        body = _payload(note="x" * 4096)
        response = self._post(self.automation, body, self._signed(body))
        self.assertRefused(response, 413, "too_large")

    def test_chunked_body_is_asked_for_a_length(self):
        head = (
            f"POST /web/hook/{self.automation.webhook_uuid} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{self.http_port()}\r\n"
            "Content-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n"
            "Cookie: {cookie}\r\n\r\n"
        )
        status, body, _elapsed = self._raw_request(head)
        self.assertIn(" 411 ", status)
        self.assertEqual(json.loads(body)["error"], "length_required")

    # Content type, network ---------------------------------------------------------

    def test_wrong_content_type(self):
        body = _payload()
        response = self._post(self.automation, body, self._signed(body), "text/xml")
        answer = self.assertRefused(response, 415, "content_type")
        self.assertIn("text/xml", answer["message"])
        self.assertIn("application/json", answer["message"])
        self.assertEqual(self._rejections(self.automation)[0]["body_excerpt"], None)

    def test_network_refused(self):
        self.validator.allowed_networks = "10.0.0.0/8, 2001:db8::/32"
        body = _payload()
        response = self._post(self.automation, body, self._signed(body))
        answer = self.assertRefused(response, 403, "network")
        self.assertIn("127.0.0.1", answer["message"])
        self.validator.allowed_networks = "10.0.0.0/8\n127.0.0.0/8"
        self.assertEqual(
            self._post(self.automation, body, self._signed(body)).status_code, 200
        )

    def test_rate_limit_per_client_address(self):
        """Counted per validator and address: calls from elsewhere, forged or
        not, do not spend a sender's quota."""
        self.validator.rate_limit = "2/minute"
        self.addCleanup(self._forget_rate_limit_windows)
        self.startPatcher(patch.dict(config.options, {"proxy_mode": True}))

        def post(address, delivery):
            body = _payload()
            headers = self._signed(body, delivery, **{"X-Forwarded-For": address})
            return self._post(self.automation, body, headers)

        first = post("198.51.100.7", "a-1")
        self.assertEqual(first.status_code, 200)
        self.assertEqual(first.headers["RateLimit-Policy"], '"minute";q=2;w=60')
        self.assertEqual(first.headers["X-RateLimit-Remaining"], "1")
        # A forged call still counts: the limit comes before the signature.
        forged = self._post(
            self.automation,
            _payload(),
            {"X-Forwarded-For": "198.51.100.7", "X-GitHub-Delivery": "a-2"},
        )
        self.assertRefused(forged, 401, "signature")
        refused = post("198.51.100.7", "a-3")
        answer = self.assertRefused(refused, 429, "rate_limit")
        self.assertIn("198.51.100.7", answer["message"])
        self.assertGreaterEqual(int(refused.headers["Retry-After"]), 1)
        self.assertEqual(refused.headers["X-RateLimit-Remaining"], "0")
        self.assertEqual(post("203.0.113.20", "b-1").status_code, 200)
        self.assertEqual(self._runs(), 2)
        reasons = [
            (r["reason"], r["remote_addr"]) for r in self._rejections(self.automation)
        ]
        self.assertEqual(
            reasons,
            [("signature", "198.51.100.7"), ("rate_limit", "198.51.100.7")],
        )

    def _forget_rate_limit_windows(self):
        with own_cursor(self.env.cr.dbname) as cr:
            cr.execute(
                "DELETE FROM integration_rate_limit_counter WHERE key LIKE %s",
                [f"webhook:{self.validator.id}:%"],
            )

    # JSON and schema ----------------------------------------------------------------

    def test_body_that_is_not_json(self):
        body = b"ref=ACME-1"
        response = self._post(self.automation, body, self._signed(body))
        self.assertRefused(response, 400, "not_json")

    def test_schema_violation_names_the_paths(self):
        body = json.dumps({"amount": -5, "lines": [{"sku": "A"}, {"qty": 1}]}).encode()
        response = self._post(self.automation, body, self._signed(body))
        answer = self.assertRefused(response, 422, "schema")
        self.assertEqual(
            # each schema engine quotes values its way: compared with one
            {(e["path"], e["message"].replace('"', "'")) for e in answer["errors"]},
            {
                ("", "'ref' is a required property"),
                ("/amount", "-5 is less than the minimum of 0"),
                ("/lines/1", "'sku' is a required property"),
            },
        )
        self.assertEqual(self._runs(), 0)

    def test_signed_form_body_gives_only_what_was_signed(self):
        """Odoo hands an automation the query string of a body that is not
        JSON; nobody signs a query string, so a signed call gives the fields
        of its form body instead."""
        validator = self._validator(
            signature_scheme="github",
            allowed_content_types="application/x-www-form-urlencoded",
            replay_protection=False,
        )
        automation = self._automation(validator)
        other = self.env["res.partner"].create({"name": "Other", "ref": "OTHER-1"})
        body = urlencode(
            {"ref": "ACME-1", "payload": json.dumps({"action": "opened"})}
        ).encode()
        headers = self._signed(body)
        response = self.url_open(
            f"/web/hook/{automation.webhook_uuid}?ref=OTHER-1",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        )
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(self._runs(), 1)
        other.invalidate_recordset(["color"])
        self.assertEqual(other.color, 0, "the unsigned query string was not used")

    def test_unsigned_validator_keeps_cores_payload(self):
        validator = self._unsigned_validator()
        automation = self._automation(validator)
        response = self.url_open(
            f"/web/hook/{automation.webhook_uuid}?ref=ACME-1",
            data=b"ping",
            headers={"Content-Type": "text/plain"},
        )
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(self._runs(), 1)

    # What is recorded -------------------------------------------------------------

    def test_rejections_are_recorded_without_secrets_and_survive_the_rollback(self):
        body = json.dumps({"ref": "ACME-1", "amount": "ten"}).encode()
        headers = self._signed(
            body, Authorization="Bearer 1234", **{"X-Echo": f"the secret is {SECRET}"}
        )
        response = self._post(self.automation, body, headers)
        self.assertRefused(response, 422, "schema")
        self.assertEqual(self._runs(), 0)
        self.assertFalse(self.env["integration.webhook.message"].search([]))

        [rejection] = self._rejections(self.automation)
        self.assertEqual(rejection["reason"], "schema")
        self.assertEqual(rejection["status_code"], 422)
        self.assertIn(
            "'ten' is not of type 'integer'", rejection["message"].replace('"', "'")
        )
        self.assertEqual(rejection["validator_ref"], self.validator.id)
        self.assertEqual(rejection["validator_name"], "Sender")
        self.assertEqual(rejection["automation_name"], "Count webhook runs")
        self.assertEqual(rejection["remote_addr"], "127.0.0.1")
        recorded = {
            name.lower(): value
            for name, value in json.loads(rejection["request_headers"]).items()
        }
        self.assertEqual(recorded["content-type"], "application/json")
        self.assertEqual(recorded["x-github-delivery"], "delivery-1")
        for name in ("authorization", "x-hub-signature-256", "x-echo"):
            self.assertEqual(recorded[name], "[removed]", name)
        self.assertNotIn(SECRET, rejection["request_headers"])
        self.assertEqual(rejection["body_excerpt"], body.decode())

        # Through the ORM, on the same committed row.
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            env = self.env(cr=cr)
            found = env["integration.webhook.rejection"].search(
                [("webhook_uuid", "=", self.automation.webhook_uuid)]
            )
            self.assertEqual(found.reason, "schema")
            # The validator exists only in the test's transaction.
            self.assertFalse(found.validator_id)

    def test_rejections_older_than_the_retention_are_removed(self):
        self.env["ir.config_parameter"].set_param(
            "integration_gateway.retention_days", 7
        )
        rejections = self.env["integration.webhook.rejection"]
        old, recent = (
            rejections.create(
                {
                    "received_at": when,
                    "reason": "signature",
                    "webhook_uuid": "gc",
                    "validator_ref": self.validator.id,
                    "count": count,
                }
            )
            for when, count in (
                ("2000-01-01 00:00:00", 1),
                (datetime.now(UTC).replace(tzinfo=None), 3),
            )
        )
        # The refused calls, repeated ones counted on one record.
        self.assertEqual(self.validator.rejection_count, 4)
        self.assertEqual(recent.validator_id, self.validator)
        self.assertEqual(
            rejections.search([("validator_id", "=", self.validator.id)]), recent | old
        )
        self.assertEqual(rejections._gc_old_rejections(), (1, 0))
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists())

    def test_a_retention_of_zero_keeps_rejections_as_it_keeps_deliveries(self):
        self.env["ir.config_parameter"].set_param(
            "integration_gateway.retention_days", 0
        )
        rejections = self.env["integration.webhook.rejection"]
        old = rejections.create(
            {
                "received_at": "2000-01-01 00:00:00",
                "reason": "signature",
                "webhook_uuid": "gc",
                "validator_ref": self.validator.id,
            }
        )
        self.assertEqual(rejections._gc_old_rejections(), (0, 0))
        self.assertTrue(old.exists())
        self.assertEqual(
            self.env["integration.webhook.delivery"]._gc_delivered(), (0, 0)
        )


@tagged("post_install", "-at_install")
class TestWithoutValidator(IncomingWebhookCase):
    """Automations without a validator behave exactly as in core."""

    def test_unsigned_call_runs_as_in_core(self):
        automation = self._automation()
        response = self._post(
            automation, b'{"ref": "ACME-1"}', content_type="text/plain"
        )
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(self._runs(), 1)

        # Core reads the query string when the body is not JSON.
        response = self.url_open(f"/web/hook/{automation.webhook_uuid}?ref=ACME-1")
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(self._runs(), 2)

        with self.assertLogs(BASE_AUTOMATION_LOGGER, "WARNING"):
            response = self._post(automation, b'{"ref": "nobody"}')
        self.assertEqual(
            (response.status_code, response.json()), (500, {"status": "error"})
        )

        response = self.url_open("/web/hook/0123456789", data=b"{}")
        self.assertEqual(
            (response.status_code, response.json()), (404, {"status": "error"})
        )
        self.assertFalse(self._rejections(automation))

    def test_removing_the_validator_restores_core_behaviour(self):
        validator = self._validator(signature_scheme="github")
        automation = self._automation(validator)
        self.assertRefused(self._post(automation, _payload()), 401, "signature")
        automation.webhook_validator_id = False
        self.assertEqual(self._post(automation, _payload()).json(), {"status": "ok"})
        automation.webhook_validator_id = validator
        self.assertRefused(self._post(automation, _payload()), 401, "signature")
        automation.action_rotate_webhook_uuid()
        self.webhook_uuids.append(automation.webhook_uuid)
        self.assertRefused(self._post(automation, _payload()), 401, "signature")
