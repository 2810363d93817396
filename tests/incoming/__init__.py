"""Validated incoming webhooks: signature schemes, checks, hostile calls,
and the validators' configuration."""

from . import test_incoming_webhook_hostile
from . import test_incoming_webhooks
from . import test_validator_weakening
from . import test_webhook_validator
