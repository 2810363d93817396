import ast

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError

from ..lib import event_schema

# The type of the plain test event in the Standard Webhooks envelope.
TEST_EVENT_TYPE = "integration.test"
PAYLOAD_FORMATS = [
    ("odoo", "Odoo (_model, _id, _action and the fields)"),
    ("standard", "Standard Webhooks envelope (type, timestamp, data)"),
]


class IntegrationWebhookSubscription(models.Model):
    """An endpoint's subscription to an event type: every event of the type
    whose record matches the domain is delivered to the endpoint, in the
    transaction that raised it."""

    _name = "integration.webhook.subscription"
    _description = "Webhook Subscription"
    _order = "endpoint_id, event_type_id"

    endpoint_id = fields.Many2one(
        "integration.webhook.endpoint", required=True, index=True, ondelete="cascade"
    )
    event_type_id = fields.Many2one(
        "integration.webhook.event.type",
        required=True,
        index=True,
        ondelete="cascade",
    )
    model = fields.Char(related="event_type_id.model")
    domain = fields.Char(
        default="[]",
        required=True,
        help="Only events whose record matches this domain are delivered, e.g. "
        "the orders of one sales team. Evaluated when the event happens.",
    )

    _endpoint_event_type_unique = models.Constraint(
        "UNIQUE (endpoint_id, event_type_id)",
        "An endpoint subscribes to an event type once.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        subscriptions = super().create(vals_list)
        self.env.registry.clear_cache()
        return subscriptions

    def write(self, vals):
        result = super().write(vals)
        self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result

    @api.model
    @tools.ormcache("event_type_id")
    def _integration_of_event_type(self, event_type_id):
        """The (endpoint id, parsed domain) of every active endpoint
        subscribed to ``event_type_id``: read once per worker, not once per
        event, and forgotten on every worker when a subscription changes or
        an endpoint is archived or restored (registry cache signalling)."""
        subscriptions = self.sudo().search(
            [("event_type_id", "=", event_type_id), ("endpoint_id.active", "=", True)]
        )
        return tuple(
            (subscription.endpoint_id.id, tuple(subscription._parsed_domain()))
            for subscription in subscriptions
        )

    @api.constrains("event_type_id")
    def _check_event_type_active(self):
        for subscription in self:
            if not subscription.event_type_id.active:
                raise ValidationError(
                    self.env._(
                        "The event type %(type)s is archived: endpoints cannot "
                        "subscribe to it.",
                        type=subscription.event_type_id.name,
                    )
                )

    @api.constrains("domain", "event_type_id")
    def _check_domain(self):
        for subscription in self:
            subscription._parsed_domain()

    def _parsed_domain(self):
        """The subscription's domain as a list, checked against the event
        type's model; raises ValidationError saying what is wrong."""
        self.ensure_one()
        try:
            domain = ast.literal_eval(self.domain or "[]")
            if not isinstance(domain, list):
                raise TypeError("a domain is a list")
            # Builds the query without running it: unknown fields and
            # malformed leaves raise here, on save, not when events happen.
            self.env[self.event_type_id.model].sudo()._search(domain)
        except (ValueError, SyntaxError, TypeError, KeyError) as exc:
            raise ValidationError(
                self.env._(
                    "The filter of %(endpoint)s on %(type)s is not a valid domain "
                    "of %(model)s: %(error)s",
                    endpoint=self.endpoint_id.name,
                    type=self.event_type_id.name,
                    model=self.event_type_id.model,
                    error=exc,
                )
            ) from None
        return domain


class IntegrationWebhookEndpoint(models.Model):
    """What an endpoint subscribes to and how its payloads are shaped."""

    _inherit = "integration.webhook.endpoint"

    subscription_ids = fields.One2many(
        "integration.webhook.subscription", "endpoint_id", string="Subscriptions"
    )
    event_type_ids = fields.Many2many(
        "integration.webhook.event.type",
        string="Event Types",
        compute="_compute_event_type_ids",
        inverse="_inverse_event_type_ids",
        search="_search_event_type_ids",
        help="The event types delivered to this endpoint, besides the events of "
        "the actions that post to its URL.",
    )
    payload_format = fields.Selection(
        PAYLOAD_FORMATS,
        default="odoo",
        required=True,
        help="Odoo: the body Odoo's own webhooks send. Standard Webhooks: "
        '{"type": <event type>, "timestamp": <ISO 8601>, "data": {...}}.',
    )

    @api.depends("subscription_ids.event_type_id")
    def _compute_event_type_ids(self):
        for endpoint in self:
            endpoint.event_type_ids = endpoint.subscription_ids.event_type_id

    def _inverse_event_type_ids(self):
        for endpoint in self:
            current = endpoint.subscription_ids
            current.filtered(
                lambda s, e=endpoint: s.event_type_id not in e.event_type_ids
            ).unlink()
            missing = endpoint.event_type_ids - current.event_type_id
            self.env["integration.webhook.subscription"].create(
                [
                    {"endpoint_id": endpoint.id, "event_type_id": event_type.id}
                    for event_type in missing
                ]
            )

    def _search_event_type_ids(self, operator, value):
        return [("subscription_ids.event_type_id", operator, value)]

    def write(self, vals):
        result = super().write(vals)
        if "active" in vals or "payload_format" in vals:
            # Archived endpoints get no new events, and an endpoint's format
            # shapes its next events: what each worker keeps must know.
            self.env.registry.clear_cache()
        return result

    def _integration_payload_formats(self):
        """``{endpoint id: payload format}`` of these endpoints, read once
        per worker and endpoint, not on every event."""
        return {
            endpoint_id: self._integration_payload_format(endpoint_id)
            for endpoint_id in self.ids
        }

    @api.model
    @tools.ormcache("endpoint_id")
    def _integration_payload_format(self, endpoint_id):
        return self.browse(endpoint_id).payload_format

    def unlink(self):
        # Their subscriptions go with them (on delete cascade, in SQL).
        result = super().unlink()
        self.env.registry.clear_cache()
        return result

    def action_open_test_event(self):
        """Opens the wizard sending a test event of a chosen type."""
        self.check_access("write")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_gateway.integration_webhook_test_event_action"
        )
        action["context"] = {
            "default_endpoint_id": self.id,
            "default_event_type_id": self.event_type_ids[:1].id,
        }
        return action

    def _test_event_body(self, payload, event_type):
        """``payload`` (Odoo's shape) as this endpoint receives it: in the
        envelope of its type, ``integration.test`` for a plain test event."""
        self.ensure_one()
        if self.payload_format == "standard":
            name = event_type.name if event_type else TEST_EVENT_TYPE
            return event_schema.envelope(payload, name)
        return payload
