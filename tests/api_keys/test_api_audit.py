"""The audit trail of the security settings, over real HTTP as the web
client changes them: policies (their settings and rules) and validators
are tracked in their chatter, secrets only as changed; a key moved to
another policy is posted on both and logged; policy names are unique; an
Integration Manager who is not a system administrator cannot change the
policy of an administrator's key.

Over HTTP because these are the paths people take: the web client's
``call_kw`` as each user, with that user's rights and session."""

import logging

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

AUDIT_LOGGER = "odoo.addons.integration_gateway.models.integration_api_policy_audit"
VALIDATOR_SECRET = "whsec_" + "c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du"  # base64 of 24 bytes


@tagged("post_install", "-at_install")
class TestSecurityAudit(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="ig_audit_manager",
            password="ig_audit_manager_pw",
            groups="base.group_user,integration_gateway.group_integration_manager",
        )
        cls.admin = new_test_user(
            cls.env,
            login="ig_audit_admin",
            password="ig_audit_admin_pw",
            groups="base.group_user,base.group_system",
        )
        cls.integration_user = new_test_user(
            cls.env, login="ig_audit_integration", groups="base.group_user"
        )
        Policy = cls.env["integration.api.policy"]
        cls.policy = Policy.create(
            {
                "name": "Audited",
                "rate_limit": "10/minute",
                "rule_ids": [
                    (0, 0, {"model_pattern": "res.partner", "method_pattern": "read"})
                ],
            }
        )
        cls.other = Policy.create({"name": "Other"})
        Keys = cls.env["res.users.apikeys"]
        cls.key = Keys.browse(
            Keys._integration_key_id_of(
                Keys.with_user(cls.integration_user)
                .sudo()
                ._generate(None, "shop sync", None)
            )
        )
        cls.admin_key = Keys.browse(
            Keys._integration_key_id_of(
                Keys.with_user(cls.admin).sudo()._generate(None, "admin tool", None)
            )
        )

    def call_kw(self, model, method, *args, **kwargs):
        """``model.method(*args, **kwargs)`` through the web client's route,
        as the authenticated user; the JSON-RPC answer (result or error)."""
        response = self.url_open(
            f"/web/dataset/call_kw/{model}/{method}",
            data=None,
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "id": 1,
                "params": {
                    "model": model,
                    "method": method,
                    "args": list(args),
                    "kwargs": kwargs,
                },
            },
        )
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def messages(self, record):
        """The bodies and tracking values (old, new) posted on ``record``,
        oldest first."""
        record.invalidate_recordset()
        self.env["mail.message"].invalidate_model()
        found = []
        for message in record.message_ids.sorted("id"):
            values = [
                (
                    t.field_id.name,
                    t.old_value_char or t.old_value_integer,
                    t.new_value_char or t.new_value_integer,
                )
                for t in message.sudo().tracking_value_ids
            ]
            found.append((str(message.body), values))
        return found

    def test_policy_settings_and_rules_are_tracked(self):
        posted_before = self.policy.message_ids
        self.authenticate("ig_audit_manager", "ig_audit_manager_pw")
        rule = self.policy.rule_ids
        answer = self.call_kw(
            "integration.api.policy",
            "write",
            [self.policy.id],
            {
                "rate_limit": "20/minute",
                "rule_ids": [
                    (1, rule.id, {"method_pattern": "read, search_read"}),
                    (
                        0,
                        0,
                        {
                            "model_pattern": "res.users",
                            "method_pattern": "*",
                            "effect": "deny",
                        },
                    ),
                ],
            },
        )
        self.assertNotIn("error", answer, answer)
        answer = self.call_kw(
            "integration.api.policy",
            "write",
            [self.policy.id],
            {"rule_ids": [(2, rule.id)]},
        )
        self.assertNotIn("error", answer, answer)
        messages = self.messages(self.policy)
        tracked = [value for _body, values in messages for value in values]
        self.assertIn(("rate_limit", "10/minute", "20/minute"), tracked)
        bodies = "\n".join(body for body, _values in messages)
        self.assertIn(
            "Rule changed: <b>Allow: res.partner / read</b> → "
            "<b>Allow: res.partner / read, search_read</b>",
            bodies,
        )
        self.assertIn("Rule added: <b>Deny: res.users / *</b>", bodies)
        self.assertIn(
            "Rule removed: <b>Allow: res.partner / read, search_read</b>", bodies
        )
        authors = (self.policy.message_ids - posted_before).author_id
        self.assertEqual(authors, self.manager.partner_id)

    def test_policy_names_are_unique(self):
        self.authenticate("ig_audit_manager", "ig_audit_manager_pw")
        with mute_logger("odoo.sql_db", "odoo.http"):
            answer = self.call_kw(
                "integration.api.policy", "create", {"name": "Audited"}
            )
        self.assertIn(
            "Another API key policy has this name", answer["error"]["data"]["message"]
        )

    def test_a_key_moved_is_posted_on_both_policies_and_logged(self):
        self.key.sudo().integration_policy_id = self.policy
        self.authenticate("ig_audit_manager", "ig_audit_manager_pw")
        answer = self.call_kw(
            "res.users.apikeys",
            "write",
            [self.key.id],
            {"integration_policy_id": self.other.id},
        )
        self.assertNotIn("error", answer, answer)
        expected = (
            "API key “shop sync” of ig_audit_integration: policy Audited → Other."
        )
        for policy in (self.policy, self.other):
            bodies = [body for body, _values in self.messages(policy)]
            self.assertIn(expected, "\n".join(bodies), policy.name)
        # back to no policy, the default one; logged (at logging.INFO: Odoo
        # names its level 25 "INFO" too)
        with self.assertLogs(AUDIT_LOGGER, logging.INFO) as logs:
            self.key.with_user(self.manager).write({"integration_policy_id": False})
        self.assertEqual(
            logs.output,
            [
                (
                    f"INFO:{AUDIT_LOGGER}:API key #{self.key.id} of "
                    "ig_audit_integration moved from policy 'Other' to None by "
                    "ig_audit_manager"
                )
            ],
        )
        bodies = "\n".join(body for body, _values in self.messages(self.other))
        self.assertIn("policy Other → the default policy.", bodies)

    def test_only_administrators_change_an_administrators_key(self):
        self.authenticate("ig_audit_manager", "ig_audit_manager_pw")
        with mute_logger("odoo.http"):
            answer = self.call_kw(
                "res.users.apikeys",
                "write",
                [self.admin_key.id],
                {"integration_policy_id": self.policy.id},
            )
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")
        self.assertIn(
            "Only system administrators can change the policy of an "
            "administrator's API key (ig_audit_admin)",
            answer["error"]["data"]["message"],
        )
        self.admin_key.invalidate_recordset()
        self.assertFalse(self.admin_key.sudo().integration_policy_id)
        # another administrator can
        self.authenticate("ig_audit_admin", "ig_audit_admin_pw")
        answer = self.call_kw(
            "res.users.apikeys",
            "write",
            [self.admin_key.id],
            {"integration_policy_id": self.policy.id},
        )
        self.assertNotIn("error", answer, answer)
        self.admin_key.invalidate_recordset()
        self.assertEqual(self.admin_key.sudo().integration_policy_id, self.policy)

    def test_validators_are_tracked_and_secrets_only_as_changed(self):
        validator = self.env["integration.webhook.validator"].create(
            {"name": "Shop", "rate_limit": "5/minute"}
        )
        self.authenticate("ig_audit_admin", "ig_audit_admin_pw")
        for secret in (VALIDATOR_SECRET, VALIDATOR_SECRET[:-4] + "AAAA", False):
            answer = self.call_kw(
                "integration.webhook.validator",
                "write",
                [validator.id],
                {"secret": secret, "rate_limit": "50/minute"},
            )
            self.assertNotIn("error", answer, answer)
        messages = self.messages(validator)
        tracked = [value for _body, values in messages for value in values]
        self.assertIn(("rate_limit", "5/minute", "50/minute"), tracked)
        bodies = [body for body, values in messages if not values]
        secret_notes = [body for body in bodies if "Secret" in body]
        self.assertEqual(
            secret_notes,
            [
                "<ul><li>Secret: set</li></ul>",
                "<ul><li>Secret: changed</li></ul>",
                "<ul><li>Secret: removed</li></ul>",
            ],
        )
        everything = repr(messages)
        self.assertNotIn(VALIDATOR_SECRET[6:20], everything)
        self.assertNotIn("secret", [name for name, _old, _new in tracked])
