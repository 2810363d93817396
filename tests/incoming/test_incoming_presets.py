"""Provider presets and handshakes, over real HTTP against the test server,
with requests built from each provider's documented examples.

Every signature here is computed in the test from the provider's
documented algorithm (``hmac`` and ``hashlib``), never by the addon's code,
and where the documentation gives the signature of its example, the test
checks that it computes the same. HTTP tests because the URL Twilio signs
is the one Odoo's HTTP stack rebuilds, and handshakes are answers of the
real route.
"""

import base64
import hashlib
import hmac
import json
import time
from unittest.mock import patch
from urllib.parse import urlencode

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import config

from .test_incoming_webhooks import IncomingWebhookCase

# https://api.slack.com/authentication/verifying-requests-from-slack
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TIMESTAMP = 1531420618
SLACK_COMMAND = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name="
    "roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2F"
    "hooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZR"
    "skXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
# https://api.slack.com/events/url_verification
SLACK_CHALLENGE = {
    "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
    "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    "type": "url_verification",
}
# https://www.twilio.com/docs/usage/security#validating-requests
TWILIO_TOKEN = "12345"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
TWILIO_DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
# https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint
ZOOM_SECRET = "secret_token_of_the_app"
ZOOM_VALIDATION = {
    "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
    "event_ts": 1654503849680,
    "event": "endpoint.url_validation",
}
# https://developers.facebook.com/docs/graph-api/webhooks/getting-started
META_SECRET = "app-secret-of-the-meta-app"
META_VERIFY = {
    "hub.mode": "subscribe",
    "hub.challenge": "1158201444",
    "hub.verify_token": "meatyhamhock",
}
TEN_YEARS = 10 * 365 * 86400  # seconds: lets the documented 2018 example in


def _hex_hmac(secret, content, digest=hashlib.sha256):
    return hmac.new(secret.encode(), content, digest).hexdigest()


def _v0(secret, timestamp, body):
    """Slack's and Zoom's documented ``v0=`` signature."""
    return "v0=" + _hex_hmac(secret, f"v0:{timestamp}:".encode() + body)


def _twilio(token, url, params):
    """Twilio's documented signature: URL + sorted name/value pairs,
    HMAC-SHA1, base64."""
    content = url + "".join(k + v for k, v in sorted(params.items()))
    digest = hmac.new(token.encode(), content.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@tagged("post_install", "-at_install")
class TestProviderPresets(IncomingWebhookCase):
    def _preset_automation(self, scheme, secret, **values):
        validator = self._validator(
            signature_scheme=scheme, secret=secret, replay_protection=False, **values
        )
        return self._automation(
            validator, record_getter=f"model.browse({self.partner.id})"
        )

    def test_documented_signatures(self):
        """The test's own algorithms give the providers' documented values."""
        self.assertEqual(
            _v0(SLACK_SECRET, SLACK_TIMESTAMP, SLACK_COMMAND.encode()),
            SLACK_SIGNATURE,
        )
        self.assertEqual(
            _twilio(TWILIO_TOKEN, TWILIO_DOC_URL, TWILIO_PARAMS), TWILIO_DOC_SIGNATURE
        )

    def test_slack_slash_command_and_url_verification(self):
        automation = self._preset_automation(
            "slack",
            SLACK_SECRET,
            handshake="slack",
            timestamp_tolerance=TEN_YEARS,
            allowed_content_types="application/json, application/x-www-form-urlencoded",
        )
        documented = {
            "X-Slack-Request-Timestamp": str(SLACK_TIMESTAMP),
            "X-Slack-Signature": SLACK_SIGNATURE,
        }
        form = "application/x-www-form-urlencoded"
        response = self._post(automation, SLACK_COMMAND.encode(), documented, form)
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(self._runs(), 1)
        tampered = SLACK_COMMAND.replace("foobar", "general").encode()
        self.assertRefused(
            self._post(automation, tampered, documented, form), 401, "signature"
        )

        body = json.dumps(SLACK_CHALLENGE).encode()
        now = int(time.time())
        signed = {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": _v0(SLACK_SECRET, now, body),
        }
        response = self._post(automation, body, signed)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"challenge": SLACK_CHALLENGE["challenge"]})
        self.assertEqual(self._runs(), 1, "the handshake ran the automation")
        # The challenge is answered only once the signature is verified.
        forged = {**signed, "X-Slack-Signature": _v0("guess", now, body)}
        self.assertRefused(self._post(automation, body, forged), 401, "signature")

    def test_slack_event_id_protects_against_replays(self):
        automation = self._preset_automation("slack", SLACK_SECRET)
        automation.webhook_validator_id.replay_protection = True
        body = json.dumps(
            {"type": "event_callback", "event_id": "Ev08MFMKH6", "event": {}}
        ).encode()
        now = int(time.time())
        headers = {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": _v0(SLACK_SECRET, now, body),
        }
        self.assertEqual(self._post(automation, body, headers).json(), {"status": "ok"})
        self.assertEqual(
            self._post(automation, body, headers).json(),
            {"status": "ok", "duplicate": True},
        )
        self.assertEqual(self._runs(), 1)
        old = now - 301
        stale = {
            "X-Slack-Request-Timestamp": str(old),
            "X-Slack-Signature": _v0(SLACK_SECRET, old, body),
        }
        self.assertRefused(self._post(automation, body, stale), 401, "signature")

    def test_twilio_behind_a_proxy(self):
        """Twilio signs the public URL; Odoo rebuilds it from the proxy's
        headers only under proxy_mode."""
        automation = self._preset_automation(
            "twilio",
            TWILIO_TOKEN,
            allowed_content_types="application/x-www-form-urlencoded",
        )
        query = "foo=1&bar=2"
        path = f"/web/hook/{automation.webhook_uuid}?{query}"
        public_url = f"https://mycompany.com{path}"
        body = urlencode(TWILIO_PARAMS).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Forwarded-Host": "mycompany.com",
            "X-Forwarded-Proto": "https",
            "X-Twilio-Signature": _twilio(TWILIO_TOKEN, public_url, TWILIO_PARAMS),
        }
        response = self.url_open(path, data=body, headers=headers)
        self.assertRefused(response, 401, "signature")  # not behind a proxy
        with patch.dict(config.options, {"proxy_mode": True}):
            response = self.url_open(path, data=body, headers=headers)
            self.assertEqual(response.json(), {"status": "ok"})
            self.assertEqual(self._runs(), 1)
            changed = urlencode({**TWILIO_PARAMS, "Digits": "9999"}).encode()
            response = self.url_open(path, data=changed, headers=headers)
            self.assertRefused(response, 401, "signature")

    def test_zoom_url_validation_and_event(self):
        automation = self._preset_automation("zoom", ZOOM_SECRET, handshake="zoom")
        body = json.dumps(ZOOM_VALIDATION).encode()
        now = int(time.time())
        headers = {
            "x-zm-request-timestamp": str(now),
            "x-zm-signature": _v0(ZOOM_SECRET, now, body),
        }
        response = self._post(automation, body, headers)
        plain = ZOOM_VALIDATION["payload"]["plainToken"]
        self.assertEqual(
            response.json(),
            {
                "plainToken": plain,
                "encryptedToken": _hex_hmac(ZOOM_SECRET, plain.encode()),
            },
        )
        self.assertEqual(self._runs(), 0)
        event = json.dumps(
            {"event": "meeting.started", "event_ts": now * 1000, "payload": {}}
        ).encode()
        headers["x-zm-signature"] = _v0(ZOOM_SECRET, now, event)
        self.assertEqual(
            self._post(automation, event, headers).json(), {"status": "ok"}
        )
        self.assertEqual(self._runs(), 1)
        headers["x-zm-signature"] = _v0("other", now, event)
        self.assertRefused(self._post(automation, event, headers), 401, "signature")

    def test_meta_verification_request_and_signature(self):
        automation = self._preset_automation("meta", META_SECRET, handshake="meta")
        automation.webhook_validator_id.verify_token = META_VERIFY["hub.verify_token"]
        url = f"/web/hook/{automation.webhook_uuid}"
        response = self.url_open(f"{url}?{urlencode(META_VERIFY)}")
        self.assertEqual((response.status_code, response.text), (200, "1158201444"))
        wrong = {**META_VERIFY, "hub.verify_token": "guess"}
        self.assertRefused(
            self.url_open(f"{url}?{urlencode(wrong)}"), 403, "verify_token"
        )
        self.assertEqual(self._runs(), 0)

        body = json.dumps(
            {"object": "whatsapp_business_account", "entry": [{"id": "1"}]}
        ).encode()
        signature = "sha256=" + _hex_hmac(META_SECRET, body)
        response = self._post(automation, body, {"X-Hub-Signature-256": signature})
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(self._runs(), 1)
        response = self._post(automation, body, {"X-Hub-Signature-256": "sha256=00"})
        self.assertRefused(response, 401, "signature")
        self.assertEqual(
            [r["reason"] for r in self._rejections(automation)],
            ["verify_token", "signature"],
        )

    def test_presets_say_where_their_message_id_is(self):
        Validator = self.env["integration.webhook.validator"]
        # Zoom and Meta carry no message id of their own: replay protection
        # needs a header named, as for custom senders.
        for scheme in ("zoom", "meta"):
            with (
                self.subTest(scheme=scheme),
                self.assertRaises(ValidationError) as caught,
                self.env.cr.savepoint(),
            ):
                Validator.create({"name": scheme, "signature_scheme": scheme})
            self.assertIn("message id", str(caught.exception))
        for scheme in ("slack", "twilio"):
            Validator.create({"name": scheme, "signature_scheme": scheme})
