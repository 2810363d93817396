"""The texts administrators read in Odoo go through translation, those of
lib/ included (its parsers' reasons, shown in constraint messages), while
the answers to partners' programs stay English whatever the key user's
language."""

import contextlib
import datetime
import io

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import code_translations, trans_export

from ...lib import api_policy, event_schema, standard_webhooks
from ...lib import webhook_signatures as signatures
from ...lib.messages import Refusal
from ...lib.outbox import oauth2, sender, tls

RATE_LIMIT_REASON = (
    "%(item)s is not a rate limit: write it like 100/minute, 5000/hour or 10/15 minutes"
)


@contextlib.contextmanager
def french(env, translations):
    """The addon's code translated into French with ``translations``
    (source -> French), for the time of the block."""
    env["res.lang"]._activate_lang("fr_FR")
    key = ("integration_gateway", "fr_FR")
    saved = code_translations.python_translations.pop(key, None)
    code_translations.python_translations[key] = dict(translations)
    try:
        yield
    finally:
        code_translations.python_translations.pop(key, None)
        if saved is not None:
            code_translations.python_translations[key] = saved


def _raised(function, *args, **kwargs):
    try:
        function(*args, **kwargs)
    except ValueError as exc:
        return exc
    raise AssertionError(f"{function.__name__}{args} raised nothing")


# What lib/ refuses that administrators read in Odoo's messages, each
# refusal as lib/ makes it: the secrets of Standard Webhooks (validators,
# endpoints), custom HMAC signatures, the extra headers and TLS settings of
# endpoints, OAuth2 token URLs, event type names, the maximum lifetime of
# keys under a policy.
NOW = datetime.datetime(2026, 1, 1)
ADMIN_REFUSALS = {
    "secret not base64": lambda: _raised(
        standard_webhooks.check_verifying_key, "whsec_not base64!"
    ),
    "empty secret": lambda: _raised(standard_webhooks.decode_secret, "whsec_"),
    "public key too short": lambda: _raised(
        standard_webhooks.check_verifying_key, "whpk_AAAA"
    ),
    "secret key prefix": lambda: _raised(standard_webhooks.public_key, "whsec_AAAA"),
    "custom HMAC header": lambda: _raised(signatures.CustomHmac, header=" "),
    "custom HMAC algorithm": lambda: _raised(
        signatures.CustomHmac, header="X-Sig", algorithm="md5"
    ),
    "headers not JSON": lambda: _raised(sender.parse_headers, "{"),
    "headers not an object": lambda: _raised(sender.parse_headers, "[1]"),
    "reserved header": lambda: _raised(sender.parse_headers, '{"Host": "x"}'),
    "header value": lambda: _raised(sender.parse_headers, '{"X-A": 1}'),
    "token URL": lambda: _raised(oauth2.check_token_url, "http://auth.example.com/t"),
    "CA bundle": lambda: _raised(tls.check_ca_bundle, b"no certificate here"),
    "client certificate": lambda: _raised(
        tls.check_client_certificate, b"none", b"none", NOW
    ),
    "event name": lambda: event_schema.valid_event_name("Sale.Order"),
    "key lifetime": lambda: api_policy.lifetime_error(None, NOW, 30),
}


@tagged("post_install", "-at_install")
class TestTranslatedMessages(TransactionCase):
    def _template(self):
        buffer = io.BytesIO()
        trans_export(None, ["integration_gateway"], buffer, "po", self.env)
        # long messages are wrapped over several quoted lines
        return buffer.getvalue().decode().replace('"\n"', "")

    def test_admin_refusals_of_lib_are_translatable(self):
        """Each refusal of lib/ that administrators read is a Refusal, whose
        template is in the translation template (so a translator sees it)
        while its English text stays what logs and partners get."""
        template = self._template()
        for case, refuse in ADMIN_REFUSALS.items():
            with self.subTest(case):
                refusal = refuse()
                self.assertIsInstance(refusal, Refusal)
                self.assertEqual(str(refusal), refusal.template % refusal.values)
                source = refusal.template.replace('"', '\\"')
                self.assertIn(f'msgid "{source}"', template)

    def test_lib_reasons_are_in_the_translation_template(self):
        template = self._template()
        for source in (
            RATE_LIMIT_REASON,
            "%(entry)s is not an IP address or CIDR network",
            "%(url)s is not an http:// or https:// URL",
            "Too many failed API key authentications from %(address)s",
        ):
            self.assertIn(f'msgid "{source}', template)

    def test_constraint_messages_are_translated_lib_reasons_included(self):
        Policy = self.env["integration.api.policy"].with_context(lang="fr_FR")
        with (
            french(
                self.env,
                {
                    "Policy %(name)s: %(error)s": "Politique %(name)s : %(error)s",
                    RATE_LIMIT_REASON: "%(item)s n'est pas une limite de débit",
                },
            ),
            self.assertRaises(ValidationError) as caught,
        ):
            Policy.create({"name": "Débit", "rate_limit": "ten/minute"})
        self.assertEqual(
            str(caught.exception),
            "Politique Débit : 'ten/minute' n'est pas une limite de débit",
        )

    def test_rule_patterns_are_translated(self):
        policy = self.env["integration.api.policy"].create({"name": "Rules"})
        Rule = self.env["integration.api.policy.rule"].with_context(lang="fr_FR")
        with (
            french(
                self.env,
                {
                    "Policy %(name)s: %(error)s": "Politique %(name)s : %(error)s",
                    "a pattern list needs at least one pattern": "il faut un motif",
                },
            ),
            self.assertRaises(ValidationError) as caught,
        ):
            Rule.create({"policy_id": policy.id, "model_pattern": " , "})
        self.assertEqual(str(caught.exception), "Politique Rules : il faut un motif")

    def test_endpoint_and_validator_refusals_are_translated(self):
        """The messages of an endpoint's headers, a validator's Standard
        Webhooks secret and a policy's key lifetime, lib/'s reason
        included, in the user's language."""
        french_texts = {
            "The extra headers of endpoint %(name)s are not valid: %(error)s": (
                "Les en-têtes de %(name)s sont invalides : %(error)s"
            ),
            "the header %(name)s is set by the sender itself": (
                "l'en-tête %(name)s est posé par l'expéditeur"
            ),
            "Validator %(name)s: a Standard Webhooks secret is whsec_ followed "
            "by base64, or an Ed25519 public key, whpk_ followed by base64 "
            "(%(error)s).": "Validateur %(name)s : secret refusé (%(error)s).",
            "the secret is not base64 after its whsec_ prefix": (
                "le secret n'est pas en base64"
            ),
            "Policy %(policy)s: %(error)s.": "Politique %(policy)s : %(error)s.",
            "keys may live at most %(days)s days: set an expiry": (
                "les clés vivent au plus %(days)s jours"
            ),
        }
        with french(self.env, french_texts):
            env = self.env(context={**self.env.context, "lang": "fr_FR"})
            policy = env["integration.api.policy"].create(
                {"name": "Courte", "max_key_lifetime_days": 30}
            )
            with self.assertRaises(ValidationError) as caught:
                env["integration.webhook.endpoint"].create(
                    {
                        "name": "Entrepôt",
                        "url": "https://warehouse.example.com/hook",
                        "headers": '{"Host": "x"}',
                    }
                )
            self.assertEqual(
                str(caught.exception),
                "Les en-têtes de Entrepôt sont invalides : "
                "l'en-tête 'Host' est posé par l'expéditeur",
            )
            with self.assertRaises(ValidationError) as caught:
                env["integration.webhook.validator"].create(
                    {"name": "Boutique", "secret": "whsec_pas du base64!"}
                )
            self.assertEqual(
                str(caught.exception),
                "Validateur Boutique : secret refusé (le secret n'est pas en base64).",
            )
            with self.assertRaises(ValidationError) as caught:
                policy._integration_check_lifetime(False)
            self.assertEqual(
                str(caught.exception),
                "Politique Courte : les clés vivent au plus 30 jours.",
            )
