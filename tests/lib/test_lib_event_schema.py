"""lib.event_schema and lib.asyncapi: schemas from field metadata, what
breaks receivers, event names, and the AsyncAPI document."""

import doctest

import jsonschema
import pytest

from odoo.addons.integration_gateway.lib import asyncapi, event_schema

FIELDS = {
    "name": {"type": "char", "required": True, "string": "Name"},
    "partner_id": {"type": "many2one", "relation": "res.partner"},
    "state": {"type": "selection", "selection": [["draft", "Q"], ["sale", "S"]]},
    "line_ids": {"type": "one2many", "relation": "sale.order.line"},
    "date_order": {"type": "datetime"},
    "amount": {"type": "monetary"},
    "paid": {"type": "boolean"},
}


@pytest.mark.parametrize("module", [event_schema, asyncapi])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


def test_schema_accepts_what_odoo_sends_and_refuses_the_rest():
    schema = event_schema.data_schema("sale.order.confirmed", "sale.order", FIELDS)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    sent = {
        "_model": "sale.order",
        "_id": 42,
        "_action": "Notify(#3)",
        "id": 42,
        "name": "S00042",
        "partner_id": 7,
        "state": "sale",
        "line_ids": [1, 2],
        "date_order": "2026-12-02 10:00:00",
        "amount": 12.5,
        "paid": False,
    }
    assert validator.is_valid(sent)
    # Odoo's false for fields that are not set, except required ones.
    assert validator.is_valid({**sent, "partner_id": False, "state": False})
    for bad in (
        {"name": False},
        {"partner_id": "Azure"},
        {"state": "cancelled"},
        {"_model": "res.partner"},
        {"date_order": "yesterday"},
    ):
        assert not validator.is_valid({**sent, **bad}), bad
    missing = dict(sent)
    del missing["amount"]
    assert not validator.is_valid(missing)


def test_adding_fields_does_not_break_receivers():
    old = event_schema.data_schema("a.b", "sale.order", {"name": FIELDS["name"]})
    new = event_schema.data_schema("a.b", "sale.order", FIELDS)
    assert event_schema.breaking_changes(old, new) == []
    assert event_schema.breaking_changes(new, old) == [
        f"field {name} is no longer sent" for name in FIELDS if name != "name"
    ]


def test_a_selection_losing_a_value_or_a_relation_to_another_model_breaks():
    old = event_schema.data_schema("a.b", "sale.order", FIELDS)
    fewer = {**FIELDS, "state": {**FIELDS["state"], "selection": [["draft", "Q"]]}}
    other = {**FIELDS, "partner_id": {"type": "many2one", "relation": "res.users"}}
    required = {**FIELDS, "name": {"type": "char"}}
    for fields_meta in (fewer, other, required):
        new = event_schema.data_schema("a.b", "sale.order", fields_meta)
        assert len(event_schema.breaking_changes(old, new)) == 1


@pytest.mark.parametrize(
    "name", ["a", "A.b", "a.B", "1a.b", "a..b", "a.b.", ".a.b", "a-b.c", "a b.c"]
)
def test_invalid_event_names(name):
    assert event_schema.valid_event_name(name)


def test_long_event_names_are_refused():
    assert event_schema.valid_event_name("a." + "b" * 200)


def test_every_event_type_has_its_channel_operation_and_message():
    types = [
        {"name": "sale.order.confirmed", "schema": {"type": "object"}},
        {"name": "res.partner.created", "schema": {"type": "object"}},
    ]
    doc = asyncapi.document(
        title="T", version="1", base_url="https://erp.test/odoo", event_types=types
    )
    assert set(doc["channels"]) == {"sale_order_confirmed", "res_partner_created"}
    assert doc["servers"]["odoo"]["pathname"] == "/odoo"
    for key in doc["channels"]:
        operation = doc["operations"][f"send_{key}"]
        assert operation["messages"] == [{"$ref": f"#/channels/{key}/messages/{key}"}]
        assert doc["components"]["messages"][key]["headers"]["required"] == [
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
        ]


def test_readonly_fields_are_marked_and_not_breaking():
    meta = {"type": "char", "readonly": True, "string": "Reference"}
    assert event_schema.field_schema(meta)["readOnly"] is True
    old = event_schema.data_schema("a.b", "m", {"ref": {"type": "char"}})
    new = event_schema.data_schema("a.b", "m", {"ref": meta})
    assert event_schema.breaking_changes(old, new) == []
