"""The event catalog as an AsyncAPI 3.0 document.

Receivers of this database's webhooks get one machine-readable description
of every published event type: a channel and a message per type, the
message's payload (the Standard Webhooks envelope ``{type, timestamp,
data}`` whose ``data`` schema is generated from Odoo's field metadata, see
:mod:`.event_schema`), the headers that carry the signature, and the
database as the server that sends them. Code generators and validators
that read AsyncAPI can use it as it is.

Nothing here imports Odoo.
"""

from urllib.parse import urlsplit

ASYNCAPI_VERSION = "3.0.0"

_HEADERS = {
    "type": "object",
    "properties": {
        "webhook-id": {
            "type": "string",
            "description": "The message's id, the same on every retry: "
            "receivers use it to ignore a message they already processed.",
        },
        "webhook-timestamp": {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "When the attempt was signed, in Unix seconds.",
        },
        "webhook-signature": {
            "type": "string",
            "description": "Space-separated signatures 'v1,<base64>' "
            "(HMAC-SHA256) or 'v1a,<base64>' (Ed25519) of "
            "'<webhook-id>.<webhook-timestamp>.<body>'.",
        },
    },
    "required": ["webhook-id", "webhook-timestamp", "webhook-signature"],
}

_SIGNATURE_SCHEME = {
    "type": "httpApiKey",
    "name": "webhook-signature",
    "in": "header",
    "description": "Standard Webhooks signature "
    "(https://www.standardwebhooks.com/): verify it with the endpoint's "
    "signing secret before trusting the message, and refuse messages whose "
    "webhook-timestamp is more than a few minutes away from now.",
}


def envelope_schema(event_name, data_schema):
    """The schema of the Standard Webhooks envelope of an event, ``data``
    being ``data_schema`` (without its ``$schema``: the document declares
    its own dialect).

    >>> envelope_schema("a.b", {"$schema": "x", "type": "object"})["properties"]["type"]
    {'const': 'a.b'}
    """
    data = {key: value for key, value in data_schema.items() if key != "$schema"}
    return {
        "type": "object",
        "properties": {
            "type": {"const": event_name},
            "timestamp": {
                "type": "string",
                "format": "date-time",
                "description": "When the event happened (ISO 8601, UTC).",
            },
            "data": data,
        },
        "required": ["type", "timestamp", "data"],
    }


def _key(event_name):
    """A component key for an event name (AsyncAPI keys allow dots, but
    ``$ref`` paths read better without them)."""
    return event_name.replace(".", "_")


def document(*, title, version, base_url, event_types, description=None):
    """The AsyncAPI 3.0 document of ``event_types``, an iterable of
    mappings with ``name``, ``description``, ``schema`` (the data schema)
    and ``schema_version``, sent by the database at ``base_url``.

    >>> doc = document(title="Acme", version="1", base_url="https://erp.acme.test",
    ...                event_types=[{"name": "sale.order.confirmed",
    ...                              "description": "An order is confirmed.",
    ...                              "schema": {"type": "object"},
    ...                              "schema_version": 2}])
    >>> doc["asyncapi"], doc["servers"]["odoo"]["host"]
    ('3.0.0', 'erp.acme.test')
    >>> doc["operations"]["send_sale_order_confirmed"]["channel"]
    {'$ref': '#/channels/sale_order_confirmed'}
    >>> doc["components"]["messages"]["sale_order_confirmed"]["x-schema-version"]
    2
    """
    url = urlsplit(base_url)
    server = {
        "host": url.netloc,
        "protocol": url.scheme or "https",
        "description": "The Odoo database that sends these webhooks.",
        "security": [{"$ref": "#/components/securitySchemes/standardWebhooks"}],
    }
    if url.path and url.path != "/":
        server["pathname"] = url.path
    channels, operations, messages = {}, {}, {}
    for event in event_types:
        name, key = event["name"], _key(event["name"])
        messages[key] = {
            "name": name,
            "title": name,
            "summary": event.get("description") or name,
            "contentType": "application/json",
            "headers": _HEADERS,
            "payload": envelope_schema(name, event["schema"]),
            "x-schema-version": event.get("schema_version") or 1,
        }
        channels[key] = {
            "address": name,
            "title": name,
            "description": "Webhooks of the event type "
            f"{name}, sent to every endpoint that subscribes to it.",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"send_{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"Sends {name} to subscribed endpoints.",
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        }
    info = {"title": title, "version": version}
    if description:
        info["description"] = description
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": info,
        "defaultContentType": "application/json",
        "servers": {"odoo": server},
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "securitySchemes": {"standardWebhooks": _SIGNATURE_SCHEME},
        },
    }
