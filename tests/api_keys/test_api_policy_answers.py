"""What a client with a policy key is answered, over real HTTP: unknown
models and methods as core JSON/2 answers them (404, before the policy),
refusals with a machine-readable ``context.policy`` and what to do, and an
expired key told that it expired."""

import datetime

from odoo.tests import tagged
from odoo.tools import SQL

from ..ui.test_i18n_messages import french
from .test_api_policy import ApiPolicyCase

NOT_FOUND = "werkzeug.exceptions.NotFound"
UNAUTHORIZED = "werkzeug.exceptions.Unauthorized"


@tagged("post_install", "-at_install")
class TestPolicyAnswers(ApiPolicyCase):
    def test_unknown_models_and_methods_answer_as_core(self):
        """A key without a policy and a key with one get the same 404."""
        core_token, _key = self.make_key()
        token, _key = self.make_key(self.partners_policy)
        for model, method, message in (
            (
                "x.does.not.exist",
                "search_read",
                "the model 'x.does.not.exist' does not exist",
            ),
            (
                "res.partner",
                "search_reed",
                "The method 'res.partner.search_reed' does not exist",
            ),
        ):
            answers = [
                self.json2(key, model, method, domain=[]) for key in (core_token, token)
            ]
            for response in answers:
                self.assertEqual(response.status_code, 404, response.text)
                self.assertEqual(response.json()["name"], NOT_FOUND)
                self.assertEqual(response.json()["message"], message)

    def test_refusals_say_why_for_programs_and_what_to_do(self):
        token, _key = self.make_key(self.partners_policy)
        with self.refused():
            response = self.json2(token, "res.users", "search_read", domain=[])
        body = self.assertDenied(response, "no rule allows it")
        self.assertEqual(
            body["context"]["policy"],
            {
                "name": "Partners",
                "reason": "no_rule",
                "model": "res.users",
                "method": "search_read",
            },
        )
        self.assertTrue(body["message"].endswith("use a key whose policy does."))

        with self.refused():
            response = self.json2(token, "res.partner", "unlink", ids=[self.partner.id])
        body = self.assertDenied(response, "a rule denies it")
        self.assertEqual(body["context"]["policy"]["reason"], "deny_rule")

        self.partners_policy.read_only = True
        with self.refused():
            response = self.json2(
                token, "res.partner", "write", ids=[self.partner.id], vals={}
            )
        body = self.assertDenied(response, "read-only")
        self.assertEqual(body["context"]["policy"]["reason"], "read_only")
        self.assertTrue(body["message"].endswith("Use a key whose policy may write."))

    def test_answers_to_programs_stay_english(self):
        """The key's user reads French in Odoo and its program asks for
        French; it is answered in English all the same."""
        token, _key = self.make_key(self.partners_policy)
        self.assertTrue(self.env["res.lang"]._activate_lang("fr_FR"))
        self.api_user.lang = "fr_FR"
        french_texts = {
            "Policy %(policy)s refuses %(what)s: %(reason)s. %(hint)s": (
                "La politique %(policy)s refuse %(what)s"
            ),
        }
        with french(self.env, french_texts), self.refused():
            response = self.json2(
                token,
                "res.users",
                "search_read",
                headers={"Accept-Language": "fr-FR,fr;q=0.9"},
                domain=[],
            )
        body = self.assertDenied(response, "no rule allows it")
        self.assertTrue(body["message"].startswith("Policy 'Partners' refuses"))

    def _expire(self, key, column, moment):
        self.env.cr.execute(
            SQL(
                "UPDATE res_users_apikeys SET %s = %s WHERE id = %s",
                SQL.identifier(column),
                moment,
                key.id,
            )
        )

    def test_expired_key_says_it_expired(self):
        token, key = self.make_key(self.partners_policy)
        expired_at = datetime.datetime(2026, 1, 2, 3, 4, 5)
        self._expire(key, "expiration_date", expired_at)
        response = self.json2(token, "res.partner", "search_count", domain=[])
        self.assertEqual(response.status_code, 401, response.text)
        body = response.json()
        self.assertEqual(body["name"], UNAUTHORIZED)
        self.assertEqual(
            body["message"],
            "This API key expired on 2026-01-02 03:04:05 UTC. Issue a new key.",
        )
        self.assertEqual(body["context"], {"expired_at": "2026-01-02T03:04:05"})
        # a token that is no key is still told nothing more
        wrong = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
        response = self.json2(wrong, "res.partner", "search_count", domain=[])
        self.assertEqual(response.status_code, 401, response.text)
        self.assertEqual(response.json()["message"], "Invalid apikey")

    def test_key_expired_by_the_policy_lifetime_says_so(self):
        self.partners_policy.max_key_lifetime_days = 30
        token, key = self.make_key(self.partners_policy, days=1)
        self._expire(
            key, "create_date", datetime.datetime.now() - datetime.timedelta(days=31)
        )
        response = self.json2(token, "res.partner", "search_count", domain=[])
        self.assertEqual(response.status_code, 401, response.text)
        body = response.json()
        self.assertIn(
            "policy 'Partners' lets keys live at most 30 days", body["message"]
        )
        self.assertTrue(body["message"].endswith("Issue a new key."))
        self.assertEqual(
            body["context"]["policy"],
            {"name": "Partners", "reason": "lifetime", "model": None, "method": None},
        )
