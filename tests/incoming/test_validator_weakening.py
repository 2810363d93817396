"""Who may weaken an incoming webhook validator, and who sees the secret
URL of the automation it guards.

An automation that receives webhooks runs as superuser, and its validator is
all that stands between it and anyone on the Internet who learns its URL.
Integration managers configure validators, but only system administrators
may make one that guards an automation accept more (see
``lib.validator_changes``); the URL itself, which rejections record, is for
system administrators' eyes only.
"""

import json

from odoo import fields, sql_db
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

from odoo.addons.integration_gateway.lib import standard_webhooks as sw
from odoo.addons.integration_gateway.lib import webhook_validation as validation

SCHEMA = json.dumps({"type": "object", "required": ["ref"]})

# The validator the tests start from: every setting that can be loosened is
# set, so that each can be loosened.
GUARDED = {
    "signature_scheme": "custom_hmac",
    "signature_header": "X-Signature",
    "signature_algorithm": "sha256",
    "message_id_header": "X-Id",
    "timestamp_tolerance": 300,
    "replay_protection": True,
    "replay_window": 24,
    "json_schema": SCHEMA,
    "max_body_bytes": 65536,
    "allowed_content_types": "application/json",
    "allowed_networks": "10.0.0.0/8",
    "rate_limit": "100/minute",
}


@tagged("post_install", "-at_install")
class TestValidatorWeakening(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="ig_weakening_manager",
            groups="integration_gateway.group_integration_manager",
        )
        cls.admin = new_test_user(
            cls.env, login="ig_weakening_admin", groups="base.group_system"
        )
        cls.validator = cls.env["integration.webhook.validator"].create(
            {"name": "Shop", "secret": "shop-secret", **GUARDED}
        )
        cls.automation = cls.env["base.automation"].create(
            {
                "name": "Paid orders",
                "model_id": cls.env["ir.model"]._get_id("res.partner"),
                "trigger": "on_webhook",
                "webhook_validator_id": cls.validator.id,
            }
        )

    def test_managers_cannot_loosen_a_validator_in_use(self):
        loosened = [
            {"signature_scheme": "none"},
            {"signature_scheme": "github"},
            {"signature_algorithm": "sha1"},
            {"timestamp_tolerance": 3600},
            {"message_id_header": "X-Other-Id"},
            {"replay_protection": False},
            {"replay_window": 1},
            {"json_schema": False},
            {"json_schema": json.dumps({"type": "object"})},
            {"max_body_bytes": 10_000_000},
            {"allowed_content_types": "application/json text/plain"},
            {"allowed_content_types": False},
            {"allowed_networks": "10.0.0.0/8, 192.0.2.0/24"},
            {"allowed_networks": "0.0.0.0/0"},
            {"allowed_networks": ""},
            {"rate_limit": False},
            {"rate_limit": "1000/minute"},
            {"rate_limit": "100/second"},
            {"secret": sw.generate_secret()},
            {"secondary_secret": "another"},
            # A harmless change does not carry a loosening through.
            {"name": "Shop (renamed)", "timestamp_tolerance": 3600},
        ]
        as_manager = self.validator.with_user(self.manager)
        for values in loosened:
            with self.subTest(values=values), self.assertRaises(AccessError):
                as_manager.write(values)
        self.assertRecordValues(self.validator, [{"name": "Shop", **GUARDED}])
        self.assertEqual(self.validator.secret, "shop-secret")
        self.assertFalse(self.validator.secondary_secret)

    def test_message_names_the_loosened_settings(self):
        with self.assertRaisesRegex(
            AccessError,
            r"Validator Shop guards 1 automation\(s\): only a system administrator "
            r"can loosen its .*Timestamp Tolerance",
        ):
            self.validator.with_user(self.manager).timestamp_tolerance = 600

    def test_managers_tighten_a_validator_in_use(self):
        tightened = {
            "name": "Shop (tight)",
            "signature_algorithm": "sha512",
            "signature_header": "X-Shop-Signature",
            "timestamp_tolerance": 60,
            "replay_window": 48,
            "max_body_bytes": 4096,
            "allowed_content_types": "application/json",
            "allowed_networks": "10.1.0.0/16 10.2.3.4",
            "rate_limit": "50/minute; 1000/hour",
        }
        self.validator.with_user(self.manager).write(tightened)
        self.assertRecordValues(self.validator, [tightened])

        open_validator = self.env["integration.webhook.validator"].create(
            {"name": "Open", "signature_scheme": "none", "replay_protection": False}
        )
        self.automation.webhook_validator_id = open_validator
        # From nothing to something: a signature, a schema, networks, a limit.
        open_validator.with_user(self.manager).write(
            {
                "signature_scheme": "github",
                "json_schema": SCHEMA,
                "allowed_networks": "192.0.2.0/24",
                "rate_limit": "10/minute",
                "replay_protection": True,
            }
        )
        self.assertEqual(open_validator.signature_scheme, "github")

    def test_administrators_loosen_and_managers_change_unused_validators(self):
        self.validator.with_user(self.admin).write(
            {"signature_scheme": "none", "replay_protection": False, "rate_limit": ""}
        )
        self.assertEqual(self.validator.signature_scheme, "none")

        unused = self.env["integration.webhook.validator"].create(
            {"name": "Unused", **GUARDED}
        )
        unused.with_user(self.manager).write(
            {"signature_scheme": "none", "json_schema": False, "allowed_networks": ""}
        )
        self.assertEqual(unused.signature_scheme, "none")

    def test_queue_handshakes_and_verify_token_are_guarded_too(self):
        """Queued processing, a handshake, a longer retry schedule and Meta's
        verify token open a validator as a looser signature would; their
        opposites are tightenings. The verify token is a secret: managers
        neither read nor write it."""
        self.validator.write(
            {
                "processing": "queued",
                "handshake": "meta",
                "queue_retry_schedule": "1m,5m",
                "verify_token": "meatyhamhock",
            }
        )
        as_manager = self.validator.with_user(self.manager)
        loosened = [
            {"queue_retry_schedule": "1m,5m,30m"},
            {"handshake": "slack", "signature_scheme": "slack"},
            {"verify_token": "guessed"},
        ]
        for values in loosened:
            with self.subTest(values=values), self.assertRaises(AccessError):
                as_manager.write(values)
        self.assertNotIn("verify_token", as_manager.fields_get())
        with self.assertRaises(AccessError):
            as_manager.read(["verify_token"])
        form = as_manager.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn("verify_token", form)

        tightened = {"processing": "immediate", "handshake": "none"}
        as_manager.write({**tightened, "queue_retry_schedule": "1m"})
        with self.assertRaisesRegex(AccessError, "Processing"):
            as_manager.write({"processing": "queued"})
        with self.assertRaisesRegex(AccessError, "Handshake"):
            as_manager.write({"handshake": "meta"})
        self.validator.with_user(self.admin).write(
            {"processing": "queued", "handshake": "meta", "verify_token": "new"}
        )
        self.assertRecordValues(
            self.validator,
            [{"processing": "queued", "handshake": "meta", "verify_token": "new"}],
        )

    def test_an_archived_automation_still_counts(self):
        """Reactivating it is for system administrators; the validator it
        comes back with is the one they chose."""
        self.automation.active = False
        with self.assertRaises(AccessError):
            self.validator.with_user(self.manager).signature_scheme = "none"


@tagged("post_install", "-at_install")
class TestRejectionsHideTheWebhookUrl(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="ig_rejection_manager",
            groups="integration_gateway.group_integration_manager,"
            "base.group_allow_export",
        )
        cls.Rejection = cls.env["integration.webhook.rejection"]
        cls.uuid = "3f0e6f7e-1c1a-4d6b-9d0a-6a1f7e0d2b55"
        cls.rejection = cls.Rejection.create(
            {
                "received_at": fields.Datetime.now(),
                "reason": "signature",
                "status_code": 401,
                "webhook_uuid": cls.uuid,
                "automation_name": "Paid orders",
            }
        )

    def test_managers_never_read_the_webhook_uuid(self):
        Rejection = self.Rejection.with_user(self.manager)
        rejection = self.rejection.with_user(self.manager)
        self.assertEqual(rejection.automation_name, "Paid orders")
        self.assertNotIn("webhook_uuid", Rejection.fields_get())
        reads = {
            "field": lambda: rejection.webhook_uuid,
            "read": lambda: rejection.read(["webhook_uuid"]),
            "search": lambda: Rejection.search([("webhook_uuid", "=", self.uuid)]),
            "prefix search": lambda: Rejection.search(
                [("webhook_uuid", "=like", "3f%")]
            ),
            "web_read_group": lambda: Rejection.web_read_group([], ["webhook_uuid"]),
            "formatted_read_group": lambda: Rejection.formatted_read_group(
                [], ["webhook_uuid"], ["__count"]
            ),
            "count distinct": lambda: Rejection.formatted_read_group(
                [], [], ["webhook_uuid:count_distinct"]
            ),
            "web_search_read": lambda: Rejection.web_search_read(
                [], {"webhook_uuid": {}}
            ),
            "export": lambda: rejection.export_data(["webhook_uuid"]),
            "search_read": lambda: Rejection.search_read([], ["webhook_uuid"]),
        }
        for path, read in reads.items():
            with self.subTest(path=path), self.assertRaises(AccessError):
                read()
        for view_type in ("list", "form", "search"):
            arch = Rejection.get_views([(False, view_type)])["views"][view_type]
            self.assertNotIn("webhook_uuid", arch["arch"], view_type)
            self.assertNotIn(self.uuid, arch["arch"], view_type)
        shown = [
            name
            for name in Rejection.get_views([(False, "form")])["models"][
                Rejection._name
            ]["fields"]
        ]
        self.assertTrue(rejection.read(shown))
        self.assertNotIn(self.uuid, json.dumps(rejection.read(shown), default=str))
        self.assertNotIn(self.uuid, rejection.display_name)
        # System administrators, who see the automation, see its URL.
        admin = self.env.ref("base.user_admin")
        self.assertEqual(self.rejection.with_user(admin).webhook_uuid, self.uuid)

    def test_the_url_is_kept_out_of_what_the_caller_sent(self):
        """A proxy's X-Original-URI or a Referer repeats the URL: it is kept
        in the administrators' field only."""
        validator = self.env["integration.webhook.validator"].create({"name": "V"})
        uuid = "9b3c2d1e-0000-4000-8000-00000000feed"
        self.addCleanup(self._delete_recorded, uuid)
        self.Rejection._record(
            validation.Rejection("signature", f"no signature on /web/hook/{uuid}"),
            validator=validator,
            webhook_uuid=uuid,
            remote_addr="192.0.2.1",
            headers={"X-Original-URI": f"/web/hook/{uuid}"},
            body_excerpt=f'{{"callback": "/web/hook/{uuid}"}}',
        )
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "SELECT webhook_uuid, message, request_headers, body_excerpt"
                " FROM integration_webhook_rejection WHERE webhook_uuid = %s",
                [uuid],
            )
            [(kept, message, headers, body)] = cr.fetchall()
        self.assertEqual(kept, uuid)
        for text in (message, headers, body):
            self.assertNotIn(uuid, text)
            self.assertIn("/web/hook/<webhook>", text)

    def _delete_recorded(self, uuid):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "DELETE FROM integration_webhook_rejection WHERE webhook_uuid = %s",
                [uuid],
            )
