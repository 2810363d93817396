"""Event types: every queued webhook action sends one, made from its model
and trigger; its schema comes from the fields' metadata and describes the
payloads really sent; the catalog is published as an AsyncAPI 3.0 document
that validates against the official schema, for managers and scoped keys
only."""

import json
from pathlib import Path

import jsonschema
import psycopg2
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..common import ApiKeyMixin, WebhookCase

ASYNCAPI_SCHEMA = Path(__file__).parent / "data" / "asyncapi" / "asyncapi-3.0.0.json"
# What a browser sends when a person opens a URL, which Odoo asks of a
# session on a Bearer route.
BROWSER_NAVIGATION = {
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Site": "none",
    "Sec-Fetch-User": "?1",
}


class BusinessRefusal(Exception):
    """What makes the business transaction fail, in a test."""


def partner_fields(env, *names):
    return env["ir.model.fields"].search(
        [("model", "=", "res.partner"), ("name", "in", names)]
    )


@tagged("post_install", "-at_install")
class TestEventTypes(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.EventType = cls.env["integration.webhook.event.type"]
        cls.partner_model = cls.env["ir.model"]._get("res.partner")

    def make_automation(self, trigger="on_create", **action_values):
        """An automation on partners whose action queues a webhook."""
        return self.env["base.automation"].create(
            {
                "name": "Partners to the CRM",
                "model_id": self.partner_model.id,
                "trigger": trigger,
                "action_server_ids": [
                    Command.create(
                        {
                            "name": "Notify the CRM",
                            "model_id": self.partner_model.id,
                            "state": "webhook",
                            "webhook_url": self.receiver.url("/crm"),
                            **action_values,
                        }
                    )
                ],
            }
        )

    def test_a_queued_action_gets_an_event_type_from_its_trigger(self):
        fields = partner_fields(self.env, "name", "email", "parent_id")
        automation = self.make_automation(webhook_field_ids=[Command.set(fields.ids)])
        action = automation.action_server_ids
        event_type = action.webhook_event_type_id
        self.assertEqual(event_type.name, "res.partner.created")
        self.assertEqual(event_type.model_id, self.partner_model)
        self.assertEqual(event_type.field_ids, fields)

        # A second automation with the same trigger gets a name of its own.
        second = self.make_automation().action_server_ids.webhook_event_type_id
        self.assertEqual(second.name, "res.partner.created_2")

        # The type's fields follow the action's.
        action.webhook_field_ids = [Command.unlink(fields[0].id)]
        self.assertEqual(event_type.field_ids, fields[1:])

        # Immediate actions keep Odoo's behaviour and need no type.
        immediate = self.make_automation(webhook_delivery_mode="immediate")
        self.assertFalse(immediate.action_server_ids.webhook_event_type_id)

    def test_the_schema_describes_what_is_sent(self):
        fields = partner_fields(
            self.env, "name", "email", "parent_id", "category_id", "active", "type"
        )
        automation = self.make_automation(webhook_field_ids=[Command.set(fields.ids)])
        action = automation.action_server_ids
        schema = json.loads(action.webhook_event_type_id.schema)
        jsonschema.Draft202012Validator.check_schema(schema)
        self.assertEqual(schema["properties"]["_model"], {"const": "res.partner"})
        self.assertEqual(
            schema["properties"]["parent_id"]["x-odoo-relation"], "res.partner"
        )
        self.assertIn("contact", schema["properties"]["type"]["enum"])
        self.assertNotIn("readOnly", schema["properties"]["name"])
        readonly = partner_fields(self.env, "commercial_partner_id")
        action.webhook_field_ids = [Command.link(readonly.id)]
        action.webhook_event_type_id.invalidate_recordset(["schema"])
        schema = json.loads(action.webhook_event_type_id.schema)
        self.assertTrue(schema["properties"]["commercial_partner_id"]["readOnly"])

        company = self.env["res.partner"].create({"name": "Azure", "is_company": True})
        partner = self.env["res.partner"].create(
            {"name": "Ann", "email": "ann@example.com", "parent_id": company.id}
        )
        deliveries = self.Delivery.search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "in", (company | partner).ids),
            ]
        )
        self.assertEqual(len(deliveries), 2)
        self.assertEqual(deliveries.event_type_id, action.webhook_event_type_id)
        validator = jsonschema.Draft202012Validator(schema)
        for delivery in deliveries:
            payload = json.loads(delivery.payload)
            self.assertEqual(list(validator.iter_errors(payload)), [], payload)
        # A payload that breaks the schema is caught by it (the check can fail).
        bad = {**json.loads(deliveries[0].payload), "parent_id": "Azure"}
        self.assertFalse(validator.is_valid(bad))

        self.assertEqual(
            set(json.loads(deliveries[0].payload)), set(schema["properties"])
        )

        action.webhook_event_type_id.invalidate_recordset(["example_payload"])
        example = json.loads(action.webhook_event_type_id.example_payload)
        self.assertEqual(example["_id"], max(self.env["res.partner"].search([]).ids))

    def test_names_are_dotted_lower_case_and_unique(self):
        for bad in ("Sale.Order", "order", "sale order.confirmed", "sale..order", ""):
            with self.subTest(name=bad), self.assertRaises(ValidationError):
                self.EventType.create({"name": bad, "model_id": self.partner_model.id})
        self.EventType.create(
            {"name": "res.partner.merged", "model_id": self.partner_model.id}
        )
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.IntegrityError),
            self.cr.savepoint(),
        ):
            self.EventType.create(
                {"name": "res.partner.merged", "model_id": self.partner_model.id}
            )

    def test_only_integration_managers_reach_event_types_and_subscriptions(self):
        event_type = self.EventType.create(
            {"name": "res.partner.audited", "model_id": self.partner_model.id}
        )
        endpoint = self.make_endpoint("/audit")
        for login, groups in (
            ("ig_events_user", "base.group_user"),
            ("ig_events_portal", "base.group_portal"),
        ):
            user = new_test_user(self.env, login=login, groups=groups)
            for model, values in (
                (
                    "integration.webhook.event.type",
                    {"name": "res.partner.x", "model_id": self.partner_model.id},
                ),
                (
                    "integration.webhook.subscription",
                    {"endpoint_id": endpoint.id, "event_type_id": event_type.id},
                ),
            ):
                Model = self.env[model].with_user(user)
                with self.subTest(login=login, model=model):
                    with self.assertRaises(AccessError):
                        Model.search([])
                    with self.assertRaises(AccessError):
                        Model.create(values)
            with self.assertRaises(AccessError):
                event_type.with_user(user).write({"portal_published": True})
        self.assertFalse(event_type.portal_published)

    def test_fields_belong_to_the_model(self):
        user_login = self.env["ir.model.fields"].search(
            [("model", "=", "res.users"), ("name", "=", "login")]
        )
        with self.assertRaises(ValidationError):
            self.EventType.create(
                {
                    "name": "res.partner.odd",
                    "model_id": self.partner_model.id,
                    "field_ids": [Command.set(user_login.ids)],
                }
            )

    def test_an_event_type_of_another_model_is_refused_on_an_action(self):
        action = self.make_automation().action_server_ids
        other = self.EventType.create(
            {
                "name": "res.users.created",
                "model_id": self.env["ir.model"]._get_id("res.users"),
            }
        )
        with self.assertRaises(ValidationError):
            action.webhook_event_type_id = other

    def test_actions_of_one_event_type_send_the_same_fields(self):
        action = self.make_automation(
            webhook_field_ids=[Command.set(partner_fields(self.env, "name").ids)]
        ).action_server_ids
        other = self.make_automation(
            webhook_field_ids=[Command.set(partner_fields(self.env, "email").ids)]
        ).action_server_ids
        with self.assertRaises(ValidationError):
            other.webhook_event_type_id = action.webhook_event_type_id


@tagged("post_install", "-at_install")
class TestSubscriptions(WebhookCase):
    """Endpoints subscribed to an event type get every event of the type
    whose record matches their filter, in the business transaction."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        partner_model = cls.env["ir.model"]._get("res.partner")
        cls.automation = cls.env["base.automation"].create(
            {
                "name": "Partners to the CRM",
                "model_id": partner_model.id,
                "trigger": "on_create",
                "action_server_ids": [
                    Command.create(
                        {
                            "name": "Notify the CRM",
                            "model_id": partner_model.id,
                            "state": "webhook",
                            "webhook_url": cls.receiver.url("/crm"),
                            "webhook_field_ids": [
                                Command.set(partner_fields(cls.env, "name").ids)
                            ],
                        }
                    )
                ],
            }
        )
        cls.action = cls.automation.action_server_ids
        cls.event_type = cls.action.webhook_event_type_id
        cls.crm = cls.action.sudo().webhook_endpoint_id
        cls.crm.allow_private_network = True

    def subscribe(self, path, domain="[]", **values):
        endpoint = self.make_endpoint(path, **values)
        endpoint.subscription_ids = [
            Command.create({"event_type_id": self.event_type.id, "domain": domain})
        ]
        return endpoint

    def deliveries_of(self, partner):
        return self.Delivery.search(
            [("res_model", "=", "res.partner"), ("res_id", "=", partner.id)]
        )

    def test_fan_out_in_the_business_transaction(self):
        subscribers = self.subscribe("/a") | self.subscribe("/b") | self.subscribe("/c")
        self.assertEqual(subscribers.event_type_ids, self.event_type)
        self.assertEqual(
            self.Endpoint.search([("event_type_ids", "=", self.event_type.id)]),
            subscribers,
        )
        partner = self.env["res.partner"].create({"name": "Ann"})
        deliveries = self.deliveries_of(partner)
        self.assertEqual(deliveries.endpoint_id, self.crm | subscribers)
        self.assertEqual(len(set(deliveries.mapped("uuid"))), 4)
        self.assertEqual(deliveries.event_type_id, self.event_type)

        # Rolled back with the change that raised them: nothing is sent.
        with self.assertRaises(BusinessRefusal), self.env.cr.savepoint():
            rolled_back = self.env["res.partner"].create({"name": "Bob"})
            self.assertEqual(len(self.deliveries_of(rolled_back)), 4)
            raise BusinessRefusal

        self.assertFalse(
            self.Delivery.search(
                [("res_model", "=", "res.partner"), ("res_id", "=", rolled_back.id)]
            )
        )

    def test_a_filter_keeps_the_matching_records(self):
        companies = self.subscribe("/companies", "[('is_company', '=', True)]")
        company = self.env["res.partner"].create({"name": "Azure", "is_company": True})
        person = self.env["res.partner"].create({"name": "Ann"})
        self.assertIn(companies, self.deliveries_of(company).endpoint_id)
        self.assertNotIn(companies, self.deliveries_of(person).endpoint_id)

    def test_archived_endpoints_get_nothing(self):
        archived = self.subscribe("/archived")
        self.env["res.partner"].create({"name": "Before"})  # subscriptions read
        archived.active = False
        partner = self.env["res.partner"].create({"name": "Ann"})
        self.assertNotIn(archived, self.deliveries_of(partner).endpoint_id)
        deleted = self.subscribe("/deleted")
        self.env["res.partner"].create({"name": "Bob"})
        deleted.unlink()
        carl = self.env["res.partner"].create({"name": "Carl"})
        self.assertEqual(self.deliveries_of(carl).endpoint_id, self.crm)
        # A filter changed holds from the next event on.
        later = self.subscribe("/later", "[('is_company', '=', True)]")
        self.env["res.partner"].create({"name": "Dan"})
        later.subscription_ids.domain = "[]"
        eve = self.env["res.partner"].create({"name": "Eve"})
        self.assertIn(later, self.deliveries_of(eve).endpoint_id)

    def test_both_payload_formats_are_signed_and_exact(self):
        odoo = self.subscribe("/odoo")
        standard = self.subscribe("/standard", payload_format="standard")
        partner = self.env["res.partner"].create({"name": "Ann"})
        self.Delivery.search([("endpoint_id", "=", self.crm.id)]).unlink()
        self.dispatch()
        received = {r.path: r for r in self.receiver.wait_for(2)}
        expected_data = {
            "_model": "res.partner",
            "_id": partner.id,
            "id": partner.id,
            "_action": f"Notify the CRM(#{self.action.id})",
            "name": "Ann",
        }
        body = Webhook(odoo.sudo().secret).verify(
            received["/odoo"].body, received["/odoo"].headers
        )
        self.assertEqual(body, expected_data)
        self.assertEqual(
            received["/odoo"].body,
            json.dumps(expected_data, sort_keys=True).encode(),
        )
        envelope = Webhook(standard.sudo().secret).verify(
            received["/standard"].body, received["/standard"].headers
        )
        self.assertEqual(set(envelope), {"type", "timestamp", "data"})
        self.assertEqual(envelope["type"], self.event_type.name)
        self.assertEqual(envelope["data"], expected_data)
        self.assertRegex(
            envelope["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"
        )
        # The envelope's data is the very text of Odoo's payload.
        self.assertIn(b'"data": ' + received["/odoo"].body, received["/standard"].body)
        with self.assertRaises(WebhookVerificationError):
            Webhook(odoo.sudo().secret).verify(
                received["/standard"].body, received["/standard"].headers
            )

    def test_breaking_changes_need_a_confirmation_and_raise_the_version(self):
        name_and_email = partner_fields(self.env, "name", "email")
        self.action.webhook_field_ids = [Command.set(name_and_email.ids)]
        self.assertEqual(self.event_type.schema_version, 1, "adding is not breaking")
        # Without subscribers nothing is told: no receiver built on the type.
        self.action.webhook_field_ids = [
            Command.set(partner_fields(self.env, "name").ids)
        ]
        self.assertEqual(self.event_type.schema_version, 1)
        self.action.webhook_field_ids = [Command.set(name_and_email.ids)]

        subscriber = self.subscribe("/subscriber")
        with (
            self.assertRaisesRegex(UserError, "Receiver /subscriber.*email"),
            self.env.cr.savepoint(),
        ):
            self.action.webhook_field_ids = [
                Command.set(partner_fields(self.env, "name").ids)
            ]
        self.assertEqual(self.event_type.field_ids, name_and_email)
        self.action.write(
            {
                "webhook_field_ids": [
                    Command.set(partner_fields(self.env, "name").ids)
                ],
                "webhook_confirm_breaking_change": True,
            }
        )
        self.assertEqual(self.event_type.schema_version, 2)
        self.assertEqual(self.event_type.field_ids, partner_fields(self.env, "name"))

        # Renaming the type breaks too; an archived subscriber is not asked.
        with self.assertRaises(UserError), self.env.cr.savepoint():
            self.event_type.name = "res.partner.registered"
        subscriber.active = False
        self.event_type.name = "res.partner.registered"
        self.assertEqual(self.event_type.schema_version, 2)

    def test_a_test_event_of_a_type_carries_a_real_record(self):
        standard = self.subscribe("/standard", payload_format="standard")
        partner = self.env["res.partner"].create({"name": "Latest Partner"})
        self.Delivery.search([]).unlink()
        action = standard.action_open_test_event()
        wizard = (
            self.env["integration.webhook.test.event"]
            .with_context(**action["context"])
            .create({})
        )
        self.assertEqual(wizard.event_type_id, self.event_type)
        self.assertIn('"type": "%s"' % self.event_type.name, wizard.payload)
        result = wizard.action_send()
        self.assertEqual(result["params"]["type"], "success", result)
        [got] = self.receiver.wait_for(1)
        envelope = Webhook(standard.sudo().secret).verify(got.body, got.headers)
        self.assertEqual(envelope["type"], self.event_type.name)
        self.assertEqual(envelope["data"]["_id"], partner.id)
        self.assertEqual(envelope["data"]["name"], "Latest Partner")
        test = self.Delivery.search([("endpoint_id", "=", standard.id)])
        self.assertTrue(test.is_test)
        self.assertEqual(test.event_type_id, self.event_type)

        # Only those who may change the endpoint send it.
        user = new_test_user(self.env, login="ig_test_event_user")
        with self.assertRaises(AccessError):
            standard.with_user(user).action_open_test_event()
        with self.assertRaises(AccessError):
            self.env["integration.webhook.test.event"].with_user(user).create(
                {"endpoint_id": standard.id, "event_type_id": self.event_type.id}
            )
        with self.assertRaises(AccessError):
            wizard.with_user(user).action_send()
        self.assertEqual(len(self.receiver.requests), 1, "nothing more was sent")

        # The plain test event comes in the endpoint's envelope too.
        standard.action_send_test_event()
        plain = self.receiver.wait_for(2)[1]
        envelope = Webhook(standard.sudo().secret).verify(plain.body, plain.headers)
        self.assertEqual(envelope["type"], "integration.test")
        self.assertTrue(envelope["data"]["_test"])

    def test_bad_subscriptions_are_refused(self):
        endpoint = self.make_endpoint("/bad")
        Subscription = self.env["integration.webhook.subscription"]
        for domain in ("[('no_such_field', '=', 1)]", "not a domain", "{'a': 1}"):
            with self.subTest(domain=domain), self.assertRaises(ValidationError):
                Subscription.create(
                    {
                        "endpoint_id": endpoint.id,
                        "event_type_id": self.event_type.id,
                        "domain": domain,
                    }
                )
        archived = self.env["integration.webhook.event.type"].create(
            {
                "name": "res.partner.gone",
                "model_id": self.event_type.model_id.id,
                "active": False,
            }
        )
        with self.assertRaises(ValidationError):
            Subscription.create(
                {"endpoint_id": endpoint.id, "event_type_id": archived.id}
            )


@tagged("post_install", "-at_install")
class TestAsyncApiDocument(ApiKeyMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="ig_catalog_manager",
            password="ig_catalog_manager",
            groups="base.group_user,integration_gateway.group_integration_manager",
        )
        cls.user = new_test_user(
            cls.env, login="ig_catalog_user", password="ig_catalog_user"
        )
        cls.event_type = cls.env["integration.webhook.event.type"].create(
            {
                "name": "res.partner.verified",
                "description": "A partner's identity was checked.",
                "model_id": cls.env["ir.model"]._get_id("res.partner"),
                "field_ids": [
                    Command.set(partner_fields(cls.env, "name", "email").ids)
                ],
            }
        )
        cls.archived = cls.env["integration.webhook.event.type"].create(
            {
                "name": "res.partner.forgotten",
                "model_id": cls.env["ir.model"]._get_id("res.partner"),
                "active": False,
            }
        )

    def get(self, headers=None):
        return self.url_open("/integration/asyncapi.json", headers=headers)

    def assert_valid_document(self, document):
        spec = json.loads(ASYNCAPI_SCHEMA.read_text())
        errors = [
            f"{error.json_path}: {error.message[:200]}"
            for error in jsonschema.Draft7Validator(spec).iter_errors(document)
        ]
        self.assertEqual(errors, [])

    def test_a_manager_reads_a_valid_document(self):
        self.authenticate("ig_catalog_manager", "ig_catalog_manager")
        response = self.get(BROWSER_NAVIGATION)
        self.assertEqual(response.status_code, 200, response.text)
        document = response.json()
        self.assert_valid_document(document)
        self.assertEqual(document["asyncapi"], "3.0.0")
        messages = document["components"]["messages"]
        self.assertIn("res_partner_verified", messages)
        self.assertNotIn("res_partner_forgotten", messages)
        message = messages["res_partner_verified"]
        self.assertEqual(message["summary"], "A partner's identity was checked.")
        data = message["payload"]["properties"]["data"]
        self.assertEqual(
            set(data["required"]), {"_model", "_id", "_action", "id", "name", "email"}
        )
        self.assertEqual(
            message["payload"]["properties"]["type"], {"const": "res.partner.verified"}
        )
        # A document missing what the specification requires fails the check.
        del document["info"]
        with self.assertRaises(AssertionError):
            self.assert_valid_document(document)

    def test_refused_without_rights(self):
        self.assertEqual(self.get().status_code, 401)
        self.authenticate("ig_catalog_user", "ig_catalog_user")
        response = self.get(BROWSER_NAVIGATION)
        self.assertEqual(response.status_code, 403)
        self.assertNotIn("res.partner.verified", response.text)

    def test_keys_whose_policy_allows_it(self):
        Policy = self.env["integration.api.policy"]
        allowed = Policy.create(
            {
                "name": "Catalog readers",
                "rule_ids": [
                    Command.create(
                        {
                            "model_pattern": "integration.webhook.event.type",
                            "method_pattern": "search_read",
                        }
                    )
                ],
            }
        )
        partners_only = Policy.create(
            {
                "name": "Partners only",
                "rule_ids": [
                    Command.create(
                        {"model_pattern": "res.partner", "method_pattern": "*"}
                    )
                ],
            }
        )
        token, _key = self.issue_key(self.user, allowed)
        response = self.get({"Authorization": f"Bearer {token}"})
        self.assertEqual(response.status_code, 200, response.text)
        self.assert_valid_document(response.json())

        token, _key = self.issue_key(self.user, partners_only, name="other key")
        response = self.get({"Authorization": f"Bearer {token}"})
        self.assertEqual(response.status_code, 403)
        self.assertNotIn("res.partner.verified", response.text)

        # A key without a policy is its user's: not a manager, refused.
        token, _key = self.issue_key(self.user, name="plain key")
        self.assertEqual(
            self.get({"Authorization": f"Bearer {token}"}).status_code, 403
        )
