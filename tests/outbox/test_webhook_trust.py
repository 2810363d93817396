"""Trust towards receivers, end to end through the dispatcher: Ed25519
(Standard Webhooks v1a) signatures checked by libsodium, and OAuth2 client
credentials against a real token server and a receiver that wants a
bearer token, both on 127.0.0.1."""

import base64
import logging
import time
import uuid

import nacl.exceptions
import nacl.signing
from standardwebhooks.webhooks import Webhook

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from odoo.addons.integration_gateway.lib import standard_webhooks
from odoo.addons.integration_gateway.lib.outbox import oauth2
from odoo.addons.integration_gateway.models import integration_webhook_oauth2_token
from odoo.addons.integration_gateway.plumbing import own_cursor

from ..common import WebhookCase
from ..webhook_receiver import TokenServer


def libsodium_verifies(public_key, received):
    """Whether some v1a signature of ``received`` (a request of the test
    receiver) is, for libsodium, the Ed25519 signature of
    ``{webhook-id}.{webhook-timestamp}.{body}`` by the ``whpk_`` key."""
    key = nacl.signing.VerifyKey(base64.b64decode(public_key.removeprefix("whpk_")))
    headers = received.headers
    signed = (
        f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode()
        + received.body
    )
    for signature in headers["webhook-signature"].split(" "):
        version, _, value = signature.partition(",")
        if version == "v1a":
            try:
                key.verify(signed, base64.b64decode(value))
                return True
            except nacl.exceptions.BadSignatureError:
                continue
    return False


@tagged("post_install", "-at_install")
class TestEd25519Signatures(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="ig_trust_manager",
            groups="integration_gateway.group_integration_manager",
        )

    def test_deliveries_are_signed_v1a_and_libsodium_verifies_them(self):
        endpoint = self.make_endpoint("/ok", signature_algorithm="ed25519")
        self.assertTrue(endpoint.secret.startswith("whsk_"))
        self.assertEqual(
            endpoint.public_key, standard_webhooks.public_key(endpoint.secret)
        )
        delivery = self.enqueue(endpoint)
        self.dispatch()
        (received,) = self.receiver.wait_for(1)
        self.assertEqual(delivery.state, "delivered")
        self.assertRegex(
            received.headers["webhook-signature"], r"^v1a,[A-Za-z0-9+/]+=*$"
        )
        self.assertTrue(libsodium_verifies(endpoint.public_key, received))
        other = standard_webhooks.public_key(standard_webhooks.generate_signing_key())
        self.assertFalse(libsodium_verifies(other, received))

    def test_switching_to_ed25519_keeps_the_hmac_secret_signing(self):
        endpoint = self.make_endpoint("/ok")
        hmac_secret = endpoint.secret
        self.assertFalse(endpoint.public_key)
        endpoint.signature_algorithm = "ed25519"
        self.assertTrue(endpoint.secret.startswith("whsk_"))
        self.assertEqual(endpoint.previous_secret, hmac_secret)
        self.assertTrue(endpoint.previous_secret_expires_at)
        self.enqueue(endpoint)
        self.dispatch()
        (received,) = self.receiver.wait_for(1)
        versions = [
            s.split(",")[0] for s in received.headers["webhook-signature"].split()
        ]
        self.assertEqual(versions, ["v1a", "v1"])
        # A receiver still on the HMAC secret, and one on the public key.
        Webhook(hmac_secret).verify(received.body, received.headers)
        self.assertTrue(libsodium_verifies(endpoint.public_key, received))
        # Rotating an Ed25519 endpoint gives a new key pair; both sign.
        old_public = endpoint.public_key
        endpoint.action_rotate_secret()
        self.assertNotEqual(endpoint.public_key, old_public)
        self.assertTrue(endpoint.previous_secret.startswith("whsk_"))
        self.receiver.clear()
        self.enqueue(endpoint)
        self.dispatch()
        (received,) = self.receiver.wait_for(1)
        self.assertTrue(libsodium_verifies(old_public, received))
        self.assertTrue(libsodium_verifies(endpoint.public_key, received))

    def test_a_secret_must_fit_the_algorithm(self):
        with self.assertRaisesRegex(ValidationError, "does not fit"):
            self.make_endpoint(
                "/ok",
                signature_algorithm="ed25519",
                secret=standard_webhooks.generate_secret(),
            )

    def test_only_administrators_see_the_private_key_or_switch(self):
        # A manager makes an Ed25519 endpoint, but only sees its public key.
        made = self.Endpoint.with_user(self.manager).create(
            {
                "name": "Ledger",
                "url": "https://ledger.example.com/hook",
                "signature_algorithm": "ed25519",
            }
        )
        self.assertTrue(made.sudo().secret.startswith("whsk_"))
        self.assertEqual(
            made.public_key, standard_webhooks.public_key(made.sudo().secret)
        )
        endpoint = self.make_endpoint("/ok", signature_algorithm="ed25519")
        as_manager = endpoint.with_user(self.manager)
        self.assertEqual(as_manager.public_key, endpoint.public_key)
        with self.assertRaises(AccessError):
            as_manager.read(["secret"])
        with self.assertRaises(AccessError):
            as_manager.write({"signature_algorithm": "hmac_sha256"})
        self.assertEqual(endpoint.signature_algorithm, "ed25519")

    def test_validators_take_a_public_key(self):
        key = standard_webhooks.generate_signing_key()
        validator = self.env["integration.webhook.validator"].create(
            {
                "name": "Ed25519 sender",
                "signature_scheme": "standard_webhooks",
                "secret": standard_webhooks.public_key(key),
            }
        )
        self.assertTrue(validator.has_secret)
        with self.assertRaisesRegex(ValidationError, "whpk_"):
            validator.secret = "whpk_" + base64.b64encode(b"short").decode()


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@tagged("post_install", "-at_install")
class TestOAuth2ClientCredentials(WebhookCase):
    def setUp(self):
        super().setUp()
        self.receiver.accepted_tokens.clear()
        # A client of its own per test: tokens kept in memory by an earlier
        # test are never this one's.
        self.client_id = f"odoo-{uuid.uuid4().hex[:8]}"
        self.client_secret = f"cs-{uuid.uuid4().hex}"
        self.tokens = TokenServer(
            self.client_id, self.client_secret, receiver=self.receiver
        )
        self.enterContext(self.tokens)

    def make_oauth2_endpoint(self, **values):
        endpoint = self.make_endpoint(
            "/bearer",
            **{
                "auth_type": "oauth2_client_credentials",
                "oauth2_token_url": self.tokens.url(),
                "oauth2_client_id": self.client_id,
                "oauth2_client_secret": self.client_secret,
                "oauth2_scope": "webhooks:write orders",
                **values,
            },
        )
        key = endpoint._outbox_settings().auth.credentials.cache_key
        self.addCleanup(self._forget_token, key)
        return endpoint

    def _forget_token(self, key):
        with own_cursor(self.env.cr.dbname) as cr:
            cr.execute(
                "DELETE FROM integration_webhook_oauth2_token WHERE key = %s", [key]
            )

    def dispatch_capturing_logs(self):
        """Dispatches with the log lines of the addon and of urllib3 kept at
        DEBUG, and Odoo's at INFO (below, its SQL log shows every value
        written); returns them."""
        capture = _Capture()
        names = {"odoo": logging.INFO, "urllib3": logging.DEBUG}
        names["odoo.addons.integration_gateway"] = logging.DEBUG
        loggers = [logging.getLogger(name) for name in names]
        levels = [logger.level for logger in loggers]
        for logger, level in zip(loggers, names.values(), strict=True):
            logger.addHandler(capture)
            logger.setLevel(level)
        try:
            self.dispatch()
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.removeHandler(capture)
                logger.setLevel(level)
        return capture.lines

    def test_one_token_for_a_hundred_deliveries_a_new_one_after_401_and_expiry(self):
        endpoint = self.make_oauth2_endpoint()
        deliveries = self.Delivery.browse(
            [self.enqueue(endpoint, {"_id": n}).id for n in range(100)]
        )
        logs = self.dispatch_capturing_logs()
        received = self.receiver.wait_for(100)
        self.assertEqual(set(deliveries.mapped("state")), {"delivered"})
        self.assertEqual(len(self.tokens.requests), 1)
        self.assertEqual(
            self.tokens.requests[0],
            {"grant_type": "client_credentials", "scope": "webhooks:write orders"},
        )
        (first,) = self.tokens.issued
        self.assertEqual(
            {r.headers["authorization"] for r in received}, {f"Bearer {first}"}
        )

        # Another process (another server's dispatcher) finds the token in
        # PostgreSQL without asking the token server.
        other_process = oauth2.TokenCache(
            store=lambda key, fetch, stale: (
                integration_webhook_oauth2_token.store_token(
                    self.env.cr.dbname, key, fetch, stale
                )
            )
        )
        key = endpoint._outbox_settings().auth.credentials.cache_key
        self.assertEqual(other_process.token(key, self.fail), first)

        # The receiver's gateway revokes the token: the next delivery gets a
        # 401, a new token, and goes through in the same attempt.
        self.receiver.accepted_tokens.discard(first)
        self.tokens.expires_in = 1
        self.receiver.clear()
        delivery = self.enqueue(endpoint, {"_id": 100})
        logs += self.dispatch_capturing_logs()
        self.assertEqual(delivery.state, "delivered")
        self.assertEqual(len(delivery.attempt_ids), 1)
        self.assertEqual(delivery.attempt_ids.status_code, 200)
        second = self.tokens.issued[1]
        self.assertEqual(
            [r.headers["authorization"] for r in self.receiver.wait_for(2)],
            [f"Bearer {first}", f"Bearer {second}"],
        )

        # The second token lives 1 s (used for 0.9 s): then a third.
        time.sleep(1)
        self.receiver.clear()
        self.enqueue(endpoint, {"_id": 101})
        logs += self.dispatch_capturing_logs()
        self.assertEqual(len(self.tokens.requests), 3)
        (received,) = self.receiver.wait_for(1)
        self.assertEqual(
            received.headers["authorization"], f"Bearer {self.tokens.issued[2]}"
        )

        # Neither the client secret nor a token is logged or kept.
        self.assertTrue(logs)
        attempts = self.env["integration.webhook.attempt"].search(
            [("endpoint_id", "=", endpoint.id)]
        )
        kept = logs + [a.error or "" for a in attempts]
        kept += [a.response_excerpt or "" for a in attempts]
        kept += deliveries.mapped("last_error")
        for secret in [self.client_secret, *self.tokens.issued]:
            self.assertFalse([line for line in kept if line and secret in line])

    def test_token_failures_are_recorded_and_retried(self):
        endpoint = self.make_oauth2_endpoint()
        self.tokens.client_secret = "changed on the server"
        delivery = self.enqueue(endpoint)
        self.dispatch()
        self.assertEqual(delivery.state, "retrying")
        self.assertEqual(
            delivery.attempt_ids.error,
            "could not get a token: the token server answered 401 (invalid_client)",
        )
        self.assertFalse(delivery.attempt_ids.status_code)
        self.assertEqual(self.receiver.snapshot(), [])
        # Put right, the retry goes through.
        self.tokens.client_secret = self.client_secret
        self.make_due(delivery)
        self.dispatch()
        self.assertEqual(
            delivery.attempt_ids.mapped("status_code"),
            [200, 0],
            delivery.attempt_ids.mapped("error"),
        )
        self.assertEqual(delivery.state, "delivered")
        self.assertEqual(len(self.tokens.requests), 2)

    def test_a_second_401_is_the_answer(self):
        endpoint = self.make_oauth2_endpoint(url=self.receiver.url("/status/401"))
        delivery = self.enqueue(endpoint)
        self.dispatch()
        # One new token after the first 401, not one per refusal.
        self.assertEqual(len(self.receiver.wait_for(2)), 2)
        self.assertEqual(len(self.tokens.issued), 2)
        self.assertEqual(delivery.state, "retrying")
        self.assertEqual(delivery.attempt_ids.status_code, 401)

    def test_the_token_url_goes_through_the_ssrf_guard(self):
        endpoint = self.make_oauth2_endpoint()
        endpoint.allow_private_network = False
        delivery = self.enqueue(endpoint)
        self.dispatch()
        self.assertEqual(delivery.state, "retrying")
        self.assertRegex(
            delivery.attempt_ids.error,
            r"^could not get a token: refused to connect to 127\.0\.0\.1: ",
        )
        self.assertEqual(self.tokens.requests, [])

    def test_token_url_checked_and_its_secret_kept_for_administrators(self):
        with self.assertRaisesRegex(ValidationError, "https"):
            self.make_oauth2_endpoint(oauth2_token_url="http://auth.example.com/t")
        with self.assertRaisesRegex(ValidationError, "token URL and a client ID"):
            self.make_endpoint("/ok", auth_type="oauth2_client_credentials")
        endpoint = self.make_oauth2_endpoint()
        manager = new_test_user(
            self.env,
            login="ig_oauth2_manager",
            groups="integration_gateway.group_integration_manager",
        )
        as_manager = endpoint.with_user(manager)
        with self.assertRaises(AccessError):
            as_manager.read(["oauth2_client_secret"])
        # The secret was given for the token URL an administrator saw.
        as_manager.oauth2_token_url = "https://elsewhere.example.com/token"
        self.assertFalse(endpoint.oauth2_client_secret)
        self.assertTrue(
            [m for m in endpoint.message_ids if "client secret was removed" in m.body]
        )
