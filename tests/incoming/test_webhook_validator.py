"""integration.webhook.validator: what is refused when saved, who may see
its secrets, and the settings a request is checked with."""

import json
import threading

from psycopg2.errors import CheckViolation, ForeignKeyViolation, SerializationFailure

from odoo import sql_db
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.integration_gateway.lib import standard_webhooks as sw


@tagged("post_install", "-at_install")
class TestWebhookValidator(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Validator = cls.env["integration.webhook.validator"]
        cls.manager = new_test_user(
            cls.env,
            login="ig_validator_manager",
            groups="integration_gateway.group_integration_manager",
        )
        cls.employee = new_test_user(cls.env, login="ig_validator_employee")

    def _create(self, **values):
        return self.Validator.create({"name": "Partner", **values})

    def _hook(self, validator):
        """An automation on partners called through a webhook that
        ``validator`` checks."""
        return self.env["base.automation"].create(
            {
                "name": "Hook",
                "model_id": self.env["ir.model"]._get("res.partner").id,
                "trigger": "on_webhook",
                "webhook_validator_id": validator.id,
            }
        )

    def test_invalid_schema_is_refused_on_save(self):
        for schema, error in (
            ("{not json", "not valid JSON"),
            ('{"type": "whole number"}', "not a valid JSON Schema"),
            ('{"properties": {"a": {"minimum": "0"}}}', "at /properties/a/minimum"),
            ('{"$ref": "https://example.com/s.json"}', "only references inside"),
        ):
            with (
                self.subTest(schema=schema),
                self.assertRaisesRegex(ValidationError, error),
            ):
                self._create(json_schema=schema)
        validator = self._create(json_schema='{"type": "object"}')
        with self.assertRaisesRegex(ValidationError, "not valid JSON"):
            validator.json_schema = "[1,"

    def test_other_settings_are_checked_on_save(self):
        refused = {
            "allowed_networks": ("10.0.0.0/8, 10.0.0.300", "'10.0.0.300' is not an IP"),
            "allowed_content_types": ("json", "'json' is not a media type"),
            "secret": ("whsec_not*base64", "whsec_ followed by base64"),
            "rate_limit": ("100 per fortnight", "is not a rate limit"),
        }
        for field, (value, error) in refused.items():
            with (
                self.subTest(field=field),
                self.assertRaisesRegex(ValidationError, error),
            ):
                self._create(**{field: value})
        with self.assertRaisesRegex(ValidationError, "name of the header"):
            self._create(signature_scheme="custom_hmac", replay_protection=False)
        with self.assertRaisesRegex(ValidationError, "message id"):
            self._create(signature_scheme="none")
        self._create(signature_scheme="none", message_id_header="X-Event-Id")
        for field in ("max_body_bytes", "timestamp_tolerance", "replay_window"):
            with (
                self.subTest(field=field),
                mute_logger("odoo.sql_db"),
                self.assertRaisesRegex(CheckViolation, f"{field}_positive"),
                self.env.cr.savepoint(),
            ):
                self._create(**{field: 0})

    def test_defaults(self):
        validator = self._create()
        self.assertEqual(validator.signature_scheme, "standard_webhooks")
        self.assertEqual(validator.timestamp_tolerance, 300)
        self.assertTrue(validator.replay_protection)
        self.assertEqual(validator.replay_window, 24)
        self.assertEqual(validator.max_body_bytes, 1024 * 1024)
        self.assertEqual(validator.allowed_content_types, "application/json")
        self.assertFalse(validator.has_secret)

    def test_secrets_are_for_system_administrators_only(self):
        validator = self._create(secret=sw.generate_secret(), secondary_secret="")
        as_manager = validator.with_user(self.manager)
        self.assertEqual(as_manager.name, "Partner")
        self.assertTrue(as_manager.has_secret)
        with self.assertRaises(AccessError):
            as_manager.read(["secret"])
        with self.assertRaises(AccessError):
            as_manager.write({"secondary_secret": sw.generate_secret()})
        as_manager.write({"json_schema": '{"type": "object"}', "max_body_bytes": 4096})
        with self.assertRaises(AccessError):
            validator.with_user(self.employee).read(["name"])
        with self.assertRaises(AccessError):
            self.env["integration.webhook.rejection"].with_user(self.employee).search(
                []
            )

    def test_settings_follow_every_change(self):
        validator = self._create(
            signature_scheme="custom_hmac",
            secret="one",
            secondary_secret="two",
            signature_header=" X-Sig ",
            signature_prefix="sha256=",
            message_id_header="X-Id",
            json_schema=json.dumps({"type": "object"}),
            allowed_content_types="application/json application/*+json",
            allowed_networks="10.0.0.0/8",
            replay_window=2,
        )
        automation = self._hook(validator)
        found, settings = self.Validator._webhook_lookup(automation.webhook_uuid)
        self.assertEqual(found, validator)
        self.assertEqual(settings.secrets, ("one", "two"))
        self.assertEqual(settings.custom.header, "X-Sig")
        self.assertEqual(settings.custom.prefix, "sha256=")
        self.assertEqual(settings.id_header, "X-Id")
        self.assertEqual(settings.replay_window, 7200)
        self.assertEqual(
            settings.content_types, ("application/json", "application/*+json")
        )
        self.assertEqual([str(n) for n in settings.networks], ["10.0.0.0/8"])

        validator.secondary_secret = False
        self.assertEqual(
            self.Validator._webhook_lookup(automation.webhook_uuid)[1].secrets, ("one",)
        )
        old_uuid = automation.webhook_uuid
        automation.action_rotate_webhook_uuid()
        self.assertEqual(self.Validator._webhook_lookup(old_uuid), (None, None))
        self.assertEqual(
            self.Validator._webhook_lookup(automation.webhook_uuid)[0], validator
        )
        automation.active = False
        self.assertEqual(
            self.Validator._webhook_lookup(automation.webhook_uuid), (None, None)
        )
        automation.write({"active": True, "webhook_validator_id": False})
        self.assertEqual(
            self.Validator._webhook_lookup(automation.webhook_uuid), (None, None)
        )
        self.assertEqual(validator.automation_count, 0)

    def test_a_validator_in_use_cannot_be_deleted(self):
        validator = self._create()
        self.env["base.automation"].create(
            {
                "name": "Hook",
                "model_id": self.env["ir.model"]._get("res.partner").id,
                "trigger": "on_webhook",
                "webhook_validator_id": validator.id,
            }
        )
        self.assertEqual(validator.automation_count, 1)
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(ForeignKeyViolation),
            self.env.cr.savepoint(),
        ):
            validator.unlink()

    def test_expired_messages_are_forgotten(self):
        validator = self._create(replay_window=1)
        automation = self._hook(validator)
        messages = self.env["integration.webhook.message"]

        def claim_id(message_id):
            return messages._claim(automation.id, validator.id, message_id, 3600)

        claim = claim_id("m-1")
        self.assertTrue(claim)
        self.assertIsNone(claim_id("m-1"))
        self.assertTrue(claim_id("m-2"))
        self.env.cr.execute(
            "UPDATE integration_webhook_message"
            " SET received_at = received_at - interval '61 minutes' WHERE id = %s",
            [claim],
        )
        self.assertEqual(messages._gc_expired_messages(), (1, 0))
        self.assertEqual(
            messages.search([("validator_id", "=", validator.id)]).mapped("message_id"),
            ["m-2"],
        )
        self.assertTrue(claim_id("m-1"))

    def test_messages_within_the_window_are_kept(self):
        """The window is stored in hours and counted in seconds: a message
        59 minutes old is still remembered by a one-hour window."""
        validator = self._create(replay_window=1)
        automation = self._hook(validator)
        messages = self.env["integration.webhook.message"]
        claim = messages._claim(automation.id, validator.id, "m-1", 3600)
        self.env.cr.execute(
            "UPDATE integration_webhook_message"
            " SET received_at = received_at - interval '59 minutes' WHERE id = %s",
            [claim],
        )
        self.assertEqual(messages._gc_expired_messages(), (0, 0))
        self.assertTrue(messages.browse(claim).exists())

    def test_claim_is_one_statement_that_gives_the_transaction_time(self):
        """The automation run after a claim writes with cr.now(): the claim
        tells the cursor that time, which it would ask for in a round trip
        of its own."""
        validator = self._create()
        automation = self._hook(validator)
        messages = self.env["integration.webhook.message"]
        cr = self.env.cr
        cr._now = None  # as at the start of a request's transaction
        statements = cr.sql_log_count
        claim = messages._claim(automation.id, validator.id, "m-1", 3600)
        now = cr.now()
        self.assertEqual(cr.sql_log_count - statements, 1)
        cr.execute("SELECT (now() AT TIME ZONE 'UTC')")
        self.assertEqual(now, cr.fetchone()[0])
        self.assertEqual(messages.browse(claim).received_at, now)


@tagged("post_install", "-at_install")
class TestConcurrentDeliveries(TransactionCase):
    """Two deliveries of one message at the same time run it once: the
    second claim waits on the unique key for the first transaction, then
    finds the message processed (after Odoo's serialization retry) or, if
    the first failed, claims it. Needs committed rows and two connections."""

    def setUp(self):
        super().setUp()
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "INSERT INTO integration_webhook_validator (name, signature_scheme,"
                " timestamp_tolerance, replay_protection, replay_window,"
                " max_body_bytes) VALUES ('Concurrent', 'github', 300, true, 24, 1024)"
                " RETURNING id"
            )
            self.validator_id = cr.fetchone()[0]
            # Message ids are remembered per automation; written in SQL, as
            # creating one through the ORM would reload the registry.
            cr.execute(
                "INSERT INTO base_automation (name, model_id, trigger,"
                ' webhook_validator_id) SELECT \'{"en_US": "Concurrent"}\','
                " id, 'on_webhook', %s FROM ir_model WHERE model = 'res.partner'"
                " RETURNING id",
                [self.validator_id],
            )
            self.automation_id = cr.fetchone()[0]
        self.addCleanup(self._delete_validator)

    def _delete_validator(self):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "DELETE FROM base_automation WHERE id = %s", [self.automation_id]
            )
            cr.execute(
                "DELETE FROM integration_webhook_validator WHERE id = %s",
                [self.validator_id],
            )

    def _claim(self, cr):
        return self.env(cr=cr)["integration.webhook.message"]._claim(
            self.automation_id, self.validator_id, "same", 3600
        )

    def _claim_in_thread(self, cr):
        result = {}

        def claim():
            try:
                result["claim"] = self._claim(cr)
            except SerializationFailure as exc:
                result["error"] = exc

        thread = threading.Thread(target=claim)
        thread.start()
        thread.join(0.5)
        self.assertTrue(thread.is_alive(), "the second claim did not wait")
        return thread, result

    def test_second_delivery_waits_and_finds_the_message_processed(self):
        db = sql_db.db_connect(self.env.cr.dbname)
        with db.cursor() as first, db.cursor() as second:
            self.assertTrue(self._claim(first))
            thread, result = self._claim_in_thread(second)
            first.commit()
            thread.join(10)
            # Odoo answers this error by running the request again.
            self.assertIsInstance(result.get("error"), SerializationFailure)
            second.rollback()
            self.assertIsNone(self._claim(second))

    def test_second_delivery_runs_when_the_first_failed(self):
        db = sql_db.db_connect(self.env.cr.dbname)
        with db.cursor() as first, db.cursor() as second:
            claim = self._claim(first)
            thread, result = self._claim_in_thread(second)
            self.env(cr=first)["integration.webhook.message"]._release(claim)
            first.commit()
            thread.join(10)
            self.assertTrue(result.get("claim"), result)
            second.rollback()
