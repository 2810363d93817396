"""Event types: the JSON Schema of an event's ``data``, made from Odoo's
field metadata, and what a change of it breaks.

An event type names the fields its webhooks carry. Their schema is not
written by hand: it is derived from the same metadata Odoo uses to read the
values (``fields_get``: ``type``, ``relation``, ``selection``, ``required``,
``string``, ``help``), so that the catalog cannot drift from what is sent.
The values are those of ``record.read(fields, load=None)`` serialised as the
outbox serialises them: relations as ids, empty values as ``false`` (Odoo's
way of saying "not set"), dates and datetimes as Odoo writes them.

Receivers build on the schema, so a change that removes a field, changes a
field's type, or renames the event breaks them; adding a field does not.
:func:`breaking_changes` says which is which.

Nothing here imports Odoo.
"""

import json
import re
from datetime import UTC, datetime

from .messages import Refusal, _lt

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Dotted lower case, as Svix, Stripe and GitHub name events
# (``sale.order.confirmed``): at least two segments, each starting with a
# letter. Underscores are allowed inside a segment (``state_sale``).
EVENT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
EVENT_NAME_MAX = 128  # characters; event names travel in headers and URLs

# Keys every payload carries before the fields (core's webhook shape).
META_PROPERTIES = ("_model", "_id", "_action")

_DATE = r"^\d{4}-\d{2}-\d{2}$"
# str() of a Python datetime, as the outbox serialises it.
_DATETIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$"

_IDS = {"type": "array", "items": {"type": "integer"}}

# JSON Schema of a value of each Odoo field type, without its "empty" form.
_TYPE_SCHEMAS = {
    "char": {"type": "string"},
    "text": {"type": "string"},
    "html": {"type": "string"},
    "integer": {"type": "integer"},
    "float": {"type": "number"},
    "monetary": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "pattern": _DATE},
    "datetime": {"type": "string", "pattern": _DATETIME},
    "binary": {"type": "string"},
    "image": {"type": "string"},
    "many2one": {"type": "integer"},
    "many2one_reference": {"type": "integer"},
    "one2many": _IDS,
    "many2many": _IDS,
    "reference": {"type": "string", "pattern": r"^[\w.]+,\d+$"},
    "json": {},
    "properties": {},
}
# Types whose value is never Odoo's ``false``: booleans are false by nature,
# relations to many are an empty list, JSON holds whatever was stored.
_NEVER_FALSE = {"boolean", "one2many", "many2many", "json", "properties"}


def valid_event_name(name):
    """Why ``name`` is not a valid event type name (a :class:`Refusal`), or
    None.

    >>> valid_event_name("sale.order.confirmed") is None
    True
    >>> str(valid_event_name("Sale.Order"))
    'an event type name is dotted lower case, e.g. sale.order.confirmed'
    >>> str(valid_event_name("order"))
    'an event type name is dotted lower case, e.g. sale.order.confirmed'
    """
    if not name or not EVENT_NAME_RE.match(name):
        return Refusal(
            _lt("an event type name is dotted lower case, e.g. sale.order.confirmed")
        )
    if len(name) > EVENT_NAME_MAX:
        return Refusal(
            _lt("an event type name has at most %(limit)s characters"),
            limit=EVENT_NAME_MAX,
        )
    return None


def field_schema(meta):
    """The JSON Schema of one field's value, from its ``fields_get`` entry.

    >>> field_schema({"type": "char", "string": "Name", "required": True})
    {'type': 'string', 'title': 'Name', 'x-odoo-type': 'char'}
    >>> field_schema({"type": "many2one", "string": "Customer",
    ...               "relation": "res.partner"})  # doctest: +NORMALIZE_WHITESPACE
    {'anyOf': [{'type': 'integer'}, {'const': False}], 'title': 'Customer',
     'x-odoo-relation': 'res.partner', 'x-odoo-type': 'many2one'}
    >>> field_schema({"type": "selection", "string": "Status", "required": True,
    ...               "selection": [["draft", "Quotation"], ["sale", "Order"]]})
    {'enum': ['draft', 'sale'], 'title': 'Status', 'x-odoo-type': 'selection'}
    """
    ftype = meta.get("type")
    if ftype == "selection":
        base = {"enum": [key for key, _label in meta.get("selection") or ()]}
    else:
        base = dict(_TYPE_SCHEMAS.get(ftype, {}))
    if meta.get("required") or ftype in _NEVER_FALSE:
        schema = base
    elif "enum" in base:
        schema = {"enum": [*base["enum"], False]}
    else:
        schema = {"anyOf": [base, {"const": False}]}
    if meta.get("string"):
        schema["title"] = meta["string"]
    if meta.get("help"):
        schema["description"] = meta["help"]
    if meta.get("readonly"):
        # Computed or system-set in Odoo: receivers cannot expect to write it back.
        schema["readOnly"] = True
    if meta.get("relation"):
        schema["x-odoo-relation"] = meta["relation"]
    schema["x-odoo-type"] = ftype
    return schema


def data_schema(event_name, model, fields_meta, description=None):
    """The JSON Schema (2020-12) of the ``data`` of event ``event_name`` on
    ``model``, whose payload carries the fields of ``fields_meta`` (a
    mapping of field name to its ``fields_get`` entry, in payload order).

    >>> schema = data_schema("res.partner.created", "res.partner",
    ...                      {"name": {"type": "char", "required": True}})
    >>> schema["required"]
    ['_model', '_id', '_action', 'id', 'name']
    >>> schema["properties"]["_model"]
    {'const': 'res.partner'}
    """
    properties = {
        "_model": {"const": model},
        "_id": {"type": "integer", "description": "The record's id."},
        "_action": {
            "type": "string",
            "description": "The server action that sent the event.",
        },
    }
    if fields_meta:
        # Odoo's read() gives the id with the fields.
        properties["id"] = {"type": "integer", "description": "The record's id."}
    for name, meta in fields_meta.items():
        properties[name] = field_schema(meta)
    schema = {
        "$schema": SCHEMA_DIALECT,
        "title": event_name,
        "type": "object",
        "properties": properties,
        "required": [*properties],
    }
    if description:
        schema["description"] = description
    return schema


def example_data(schema, values=None):
    """An example ``data`` for ``schema``: ``values`` where given (read
    from a real record), else a plausible value of each property's type.

    >>> schema = data_schema("x.y", "res.partner",
    ...                      {"name": {"type": "char", "required": True},
    ...                       "active": {"type": "boolean"}})
    >>> example_data(schema, {"_id": 7, "name": "Azure"})["name"]
    'Azure'
    >>> example_data(schema)["active"]
    True
    """
    values = values or {}
    if "_id" in values and "id" in schema.get("properties", {}):
        values = {"id": values["_id"], **values}
    example = {}
    for name, prop in schema.get("properties", {}).items():
        example[name] = values[name] if name in values else _example_value(prop)
    return example


def _example_value(prop):
    if "const" in prop:
        return prop["const"]
    if "enum" in prop:
        return prop["enum"][0] if prop["enum"] else False
    if "anyOf" in prop:
        return _example_value(prop["anyOf"][0])
    kind = prop.get("type")
    if kind == "array":
        return [1]
    if kind == "string":
        pattern = prop.get("pattern")
        if pattern == _DATE:
            return "2026-01-31"
        if pattern == _DATETIME:
            return "2026-01-31 09:30:00"
        return "text"
    return {"integer": 1, "number": 1.5, "boolean": True}.get(kind)


def breaking_changes(old, new):
    """What receivers of the ``old`` schema lose with the ``new`` one, as
    sentences; empty when the change is compatible (fields added, titles
    or descriptions changed).

    >>> old = data_schema("a.b", "res.partner", {"name": {"type": "char"},
    ...                                          "ref": {"type": "char"}})
    >>> new = data_schema("a.b", "res.partner", {"name": {"type": "text"},
    ...                                          "email": {"type": "char"}})
    >>> breaking_changes(old, new)
    ['field ref is no longer sent']
    >>> new = data_schema("a.c", "res.partner", {"name": {"type": "integer"},
    ...                                          "ref": {"type": "char"}})
    >>> breaking_changes(old, new)  # doctest: +NORMALIZE_WHITESPACE
    ['the event type is renamed from a.b to a.c',
     'field name changes type (string to integer)']
    """
    changes = []
    if old.get("title") != new.get("title"):
        changes.append(
            f"the event type is renamed from {old.get('title')} to {new.get('title')}"
        )
    old_props = old.get("properties", {})
    new_props = new.get("properties", {})
    if old_props.get("_model") != new_props.get("_model"):
        changes.append("the event is sent for another model")
    for name, prop in old_props.items():
        if name not in new_props:
            changes.append(f"field {name} is no longer sent")
            continue
        before, after = _shape(prop), _shape(new_props[name])
        if before != after:
            changes.append(
                f"field {name} changes type ({_describe(before)} to {_describe(after)})"
            )
    return changes


def _shape(prop):
    """What a receiver relies on in a property: its value type, the values
    of a selection, and whether it may be ``false``; not its words."""
    return {
        key: value
        for key, value in prop.items()
        if key not in ("title", "description", "readOnly", "x-odoo-type")
    }


def _describe(shape):
    while "anyOf" in shape:
        shape = shape["anyOf"][0]
    if "enum" in shape:
        return "one of " + ", ".join(str(v) for v in shape["enum"])
    return shape.get("type") or "any value"


# Event name suffixes of automation triggers; triggers that set a value
# (state, stage, priority, ...) name the value instead.
_TRIGGER_SUFFIXES = {
    "on_create": "created",
    "on_write": "updated",
    "on_create_or_write": "saved",
    "on_unlink": "deleted",
    "on_archive": "archived",
    "on_unarchive": "unarchived",
    "on_change": "changed",
    "on_time": "due",
    "on_time_created": "due",
    "on_time_updated": "due",
    "on_user_set": "user_set",
    "on_tag_set": "tag_added",
    "on_message_received": "message_received",
    "on_message_sent": "message_sent",
    "on_webhook": "webhook_received",
}
_NOT_NAME_CHARS = re.compile(r"[^a-z0-9_]+")


def suggested_name(model, trigger=None, value=None):
    """A name for the event an automation sends: the model, then what
    happened to the record.

    >>> suggested_name("sale.order", "on_state_set", "sale")
    'sale.order.state_sale'
    >>> suggested_name("res.partner", "on_create")
    'res.partner.created'
    >>> suggested_name("x_Custom.Thing")
    'x_custom.thing.event'
    """
    if trigger in _TRIGGER_SUFFIXES:
        suffix = _TRIGGER_SUFFIXES[trigger]
    elif trigger and trigger.endswith("_set") and value is not None:
        suffix = f"{trigger[3:-4]}_{value}"
    else:
        suffix = "event"
    segments = [*model.lower().split("."), suffix.lower()]
    cleaned = [_NOT_NAME_CHARS.sub("_", s).strip("_") or "x" for s in segments]
    # each segment starts with a letter
    return ".".join(s if s[0].isalpha() else f"x{s}" for s in cleaned)


def envelope(data_json, event_name, now=None):
    """The Standard Webhooks envelope of an event whose ``data`` is already
    serialised as ``data_json``: built around it rather than parsed and
    serialised again, with the keys in sorted order like the data's.

    >>> envelope('{"_id": 1}', "a.b", datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC))
    '{"data": {"_id": 1}, "timestamp": "2026-01-02T03:04:05.006000Z", "type": "a.b"}'
    """
    now = now or datetime.now(UTC)
    timestamp = (
        now.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    )
    return (
        f'{{"data": {data_json}, "timestamp": {json.dumps(timestamp + "Z")}, '
        f'"type": {json.dumps(event_name)}}}'
    )
