"""Hostile calls to a validated incoming webhook, over real HTTP.

Anyone who knows a webhook's URL can send it anything, before any secret
is checked. These tests send what once made the server answer 500 or read
more than it should: a body framed by a transfer coding in another case, NUL
bytes, timestamps of hundreds of digits, message ids longer than an index
entry, JSON nested hundreds of levels deep. Each must be answered with a
clear 4xx, run nothing, and be recorded; repeated refusals are counted on
one record rather than filling the table.
"""

import base64
import json
import os
import socket

from odoo import sql_db
from odoo.tests import tagged

from odoo.addons.integration_gateway.lib import standard_webhooks as sw
from odoo.addons.integration_gateway.lib import webhook_signatures as ws

from .test_incoming_webhooks import SECRET, IncomingWebhookCase, _payload

RECURSIVE_SCHEMA = {
    "$ref": "#/$defs/node",
    "$defs": {
        "node": {
            "type": "object",
            "properties": {"child": {"$ref": "#/$defs/node"}},
        }
    },
}


def _nested(depth):
    body = "{}"
    for _level in range(depth - 1):
        body = '{"child": ' + body + "}"
    return body.encode()


@tagged("post_install", "-at_install")
class TestHostileCalls(IncomingWebhookCase):
    """Every hostile input ends in a recorded 4xx, never a 500."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.validator = cls._validator(signature_scheme="github", max_body_bytes=2048)
        cls.automation = cls._automation(cls.validator)

    def _signed(self, body, delivery="delivery-1", **headers):
        return {
            "X-Hub-Signature-256": ws.sign_github(SECRET, body),
            "X-GitHub-Delivery": delivery,
            **headers,
        }

    def _recorded(self, automation):
        """The rejections of ``automation`` in the order recorded: reason,
        status_code, count, message and body_excerpt of each."""
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "SELECT reason, status_code, count, message, body_excerpt"
                " FROM integration_webhook_rejection WHERE webhook_uuid = %s"
                " ORDER BY id",
                [automation.webhook_uuid],
            )
            return cr.dictfetchall()

    def _raw(self, head, body=b""):
        """Sends a request head and body on a socket of our own; returns the
        status line and the body of the answer."""
        self.env.flush_all()
        with self.allow_requests():
            head = head.replace("{cookie}", f"test_request_key={self.http_request_key}")
            with socket.create_connection(("127.0.0.1", self.http_port()), 10) as conn:
                conn.sendall(head.encode("latin-1") + body)
                answer = b""
                while chunk := conn.recv(65536):
                    answer += chunk
        status, _sep, rest = answer.partition(b"\r\n")
        return status.decode(), rest.partition(b"\r\n\r\n")[2]

    # Framing -----------------------------------------------------------------

    def test_transfer_coding_in_any_case_is_asked_for_a_length(self):
        body = _payload(note="x" * 5000)
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        signed = "".join(f"{k}: {v}\r\n" for k, v in self._signed(body).items())
        for coding in ("Chunked", "CHUNKED", "gzip, chunked"):
            with self.subTest(coding=coding):
                status, answer = self._raw(
                    f"POST /web/hook/{self.automation.webhook_uuid} HTTP/1.1\r\n"
                    f"Host: 127.0.0.1:{self.http_port()}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Transfer-Encoding: {coding}\r\n"
                    f"{signed}Connection: close\r\n"
                    "Cookie: {cookie}\r\n\r\n",
                    chunked,
                )
                self.assertIn(" 411 ", status, coding)
                self.assertEqual(json.loads(answer)["error"], "length_required")
        self.assertEqual(self._runs(), 0, "a chunked body ran the automation")
        [rejection] = self._recorded(self.automation)
        self.assertEqual(
            (rejection["reason"], rejection["status_code"], rejection["count"]),
            ("length_required", 411, 3),
        )

    # Headers -------------------------------------------------------------------

    def test_huge_duplicate_and_non_utf8_headers_are_refused_and_recorded(self):
        body = _payload()
        signed = self._signed(body)
        heads = {
            "huge signature": f"X-Hub-Signature-256: sha256={'0' * 60000}\r\n",
            "two signatures": (
                f"X-Hub-Signature-256: {signed['X-Hub-Signature-256']}\r\n"
                "X-Hub-Signature-256: sha256=00\r\n"
            ),
            "bytes that are not UTF-8": "X-Hub-Signature-256: sha256=\xff\xfe\r\n",
        }
        for case, header in heads.items():
            with self.subTest(case=case):
                status, answer = self._raw(
                    f"POST /web/hook/{self.automation.webhook_uuid} HTTP/1.1\r\n"
                    f"Host: 127.0.0.1:{self.http_port()}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n"
                    f"X-GitHub-Delivery: d-1\r\nX-Note: {'n' * 30000}\r\n{header}"
                    "Connection: close\r\nCookie: {cookie}\r\n\r\n",
                    body,
                )
                self.assertIn(" 401 ", status, case)
                self.assertEqual(json.loads(answer)["error"], "signature")
        self.assertEqual(self._runs(), 0)
        [rejection] = self._recorded(self.automation)
        self.assertEqual((rejection["reason"], rejection["count"]), ("signature", 3))

    # NUL -------------------------------------------------------------------------

    def test_nul_bytes_are_refused_and_recorded(self):
        cases = [
            # Unauthenticated: a forged signature on a body holding NUL.
            (b'{"ref": "\x00"}', {"X-Hub-Signature-256": "sha256=00"}, 401),
            # Signed, but not JSON: raw NUL is not allowed in a JSON string.
            (b'{"ref": "ACME-1\x00", "amount": 1}', None, 400),
        ]
        for body, headers, status in cases:
            with self.subTest(status=status):
                response = self._post(
                    self.automation, body, headers or self._signed(body)
                )
                self.assertEqual(response.status_code, status, response.text)
        # A content type holding NUL is quoted in the refusal's message.
        response = self._post(
            self.automation, _payload(), self._signed(_payload()), "text/x\x00y"
        )
        self.assertRefused(response, 415, "content_type")
        self.assertEqual(self._runs(), 0)
        recorded = self._recorded(self.automation)
        self.assertEqual(
            [(r["reason"], r["status_code"]) for r in recorded],
            [("signature", 401), ("not_json", 400), ("content_type", 415)],
        )
        self.assertEqual(recorded[0]["body_excerpt"], '{"ref": "\\x00"}')
        self.assertIn("text/x\\x00y", recorded[2]["message"])

    # Timestamps ----------------------------------------------------------------

    def test_timestamps_of_hundreds_of_digits_are_not_unix_times(self):
        validator = self._validator(
            signature_scheme="standard_webhooks", secret=sw.generate_secret()
        )
        automation = self._automation(validator)
        stripe = self._automation(
            self._validator(signature_scheme="stripe", replay_protection=False)
        )
        body = _payload()
        for digits in (309, 400, 4300, 5000):
            timestamp = "9" * digits
            with self.subTest(digits=digits):
                response = self._post(
                    automation,
                    body,
                    {
                        "webhook-id": "msg_1",
                        "webhook-timestamp": timestamp,
                        "webhook-signature": "v1,AAAA",
                    },
                )
                answer = self.assertRefused(response, 401, "signature")
                self.assertIn("timestamp is not a Unix time", answer["message"])
                response = self._post(
                    stripe, body, {"Stripe-Signature": f"t={timestamp},v1=00"}
                )
                answer = self.assertRefused(response, 401, "signature")
                self.assertIn("not a Unix time", answer["message"])
        self.assertEqual(self._runs(), 0)
        for webhook in (automation, stripe):
            [rejection] = self._recorded(webhook)
            self.assertEqual(
                (rejection["reason"], rejection["count"]), ("signature", 4)
            )

    # Message ids -------------------------------------------------------------------

    def test_message_ids_an_index_cannot_hold_are_refused(self):
        body = _payload()
        # Random, so that PostgreSQL cannot compress it under the index's limit.
        too_long = base64.b64encode(os.urandom(4500)).decode()
        for delivery in (too_long, "x" * 256, "a\x00b"):
            with self.subTest(length=len(delivery)):
                response = self._post(
                    self.automation, body, self._signed(body, delivery)
                )
                self.assertRefused(response, 400, "message_id")
        self.assertEqual(self._runs(), 0)
        self.assertFalse(self.env["integration.webhook.message"].search([]))
        [rejection] = self._recorded(self.automation)
        self.assertEqual((rejection["status_code"], rejection["count"]), (400, 3))
        self.assertIn("at most 255", rejection["message"])
        # At the limit, the id is remembered.
        response = self._post(self.automation, body, self._signed(body, "y" * 255))
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(self._runs(), 1)

    # Nesting ----------------------------------------------------------------------

    def test_deep_nesting_is_refused_before_a_recursive_schema(self):
        validator = self._validator(
            signature_scheme="github",
            json_schema=json.dumps(RECURSIVE_SCHEMA),
            replay_protection=False,
            max_body_bytes=1024 * 1024,
        )
        automation = self._automation(
            validator, record_getter="model.search([('ref', '=', 'ACME-1')])"
        )
        for depth in (65, 500, 50000):
            with self.subTest(depth=depth):
                body = _nested(depth)
                response = self._post(automation, body, self._signed(body))
                self.assertIn(response.status_code, (400, 422), response.text)
                self.assertIn(response.json()["error"], ("too_deep", "not_json"))
        self.assertEqual(self._runs(), 0)
        recorded = self._recorded(automation)
        self.assertEqual(sum(r["count"] for r in recorded), 3)
        self.assertIn("64 levels", recorded[0]["message"])
        # At the limit, the body is checked against the schema and runs.
        body = _nested(64)
        response = self._post(automation, body, self._signed(body))
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(self._runs(), 1)

    def test_number_too_large_for_a_float_keyword_is_no_server_error(self):
        """An integer of 400 digits against ``multipleOf: 0.01`` is a multiple
        in exact arithmetic, which jsonschema-rs (the engine here) uses: the
        call is accepted. The pure-Python engine cannot compare it and refuses
        it with 422 (tests/test_lib_json_schema.py); neither answers 500."""
        schema = {"properties": {"amount": {"multipleOf": 0.01}}}
        validator = self._validator(
            signature_scheme="github",
            json_schema=json.dumps(schema),
            replay_protection=False,
        )
        automation = self._automation(validator)
        body = b'{"ref": "ACME-1", "amount": 1' + b"0" * 400 + b"}"
        response = self._post(automation, body, self._signed(body))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self._runs(), 1)

    # Replay protection per automation ------------------------------------------

    def test_automations_sharing_a_validator_each_run_a_message(self):
        second = self._automation(self.validator)
        body = _payload()
        for automation in (self.automation, second):
            response = self._post(automation, body, self._signed(body))
            self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(self._runs(), 2, "the second automation did not run")
        for automation in (self.automation, second):
            response = self._post(automation, body, self._signed(body))
            self.assertEqual(response.json(), {"status": "ok", "duplicate": True})
        self.assertEqual(self._runs(), 2)

    # Repeated refusals ------------------------------------------------------------

    def test_repeated_refusals_are_counted_on_one_record(self):
        for n in range(5):
            body = _payload(note=f"forged {n}")
            response = self._post(
                self.automation, body, {"X-Hub-Signature-256": "sha256=00"}
            )
            self.assertRefused(response, 401, "signature")
        self.assertRefused(
            self._post(self.automation, b"{}", self._signed(b"{}"), "text/plain"),
            415,
            "content_type",
        )
        recorded = self._recorded(self.automation)
        self.assertEqual(
            [(r["reason"], r["count"]) for r in recorded],
            [("signature", 5), ("content_type", 1)],
        )
        # The first call's body is kept.
        self.assertIn("forged 0", recorded[0]["body_excerpt"])
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            env = self.env(cr=cr)
            found = env["integration.webhook.rejection"].search(
                [("webhook_uuid", "=", self.automation.webhook_uuid)]
            )
            self.assertEqual(sum(found.mapped("count")), 6)
            self.assertTrue(all(r.last_received_at >= r.received_at for r in found))
        # A refusal of another window starts a record of its own.
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "UPDATE integration_webhook_rejection"
                " SET window_start = window_start - interval '1 hour'"
                " WHERE webhook_uuid = %s",
                [self.automation.webhook_uuid],
            )
        self.assertRefused(
            self._post(self.automation, b"{}", {"X-Hub-Signature-256": "sha256=00"}),
            401,
            "signature",
        )
        self.assertEqual(len(self._recorded(self.automation)), 3)
