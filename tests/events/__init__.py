"""Event types: their schema, subscriptions and the AsyncAPI catalog
(``data/asyncapi`` holds the AsyncAPI 3.0.0 JSON schema it is checked
against)."""

from . import test_event_types
