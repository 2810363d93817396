"""The texts administrators read in Odoo go through translation, those of
lib/ included (its parsers' reasons, shown in constraint messages), while
the answers to partners' programs stay English whatever the key user's
language."""

import contextlib
import io

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import code_translations, trans_export

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


@tagged("post_install", "-at_install")
class TestTranslatedMessages(TransactionCase):
    def test_lib_reasons_are_in_the_translation_template(self):
        buffer = io.BytesIO()
        trans_export(None, ["integration_gateway"], buffer, "po", self.env)
        # long messages are wrapped over several quoted lines
        template = buffer.getvalue().decode().replace('"\n"', "")
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
