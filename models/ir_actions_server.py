import json
import logging

from odoo import Command, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from ..lib import event_schema
from ..lib.outbox import sender
from .internal_context import SYNCING_URL, syncing_url

_logger = logging.getLogger(__name__)

# Changes after which a webhook action's endpoint is looked up again.
_ENDPOINT_FIELDS = {
    "state",
    "webhook_url",
    "webhook_delivery_mode",
    "webhook_endpoint_id",
}
# Changes after which a webhook action's event type is looked up again.
_EVENT_TYPE_FIELDS = {"state", "webhook_delivery_mode", "webhook_field_ids", "model_id"}


class IrActionsServer(models.Model):
    """ "Send Webhook Notification" actions queue their webhooks in the outbox
    (``queued``, the default) instead of posting them once after commit."""

    _inherit = "ir.actions.server"

    webhook_delivery_mode = fields.Selection(
        [("queued", "Queued"), ("immediate", "Immediate")],
        string="Delivery Mode",
        default="queued",
        help="Queued: written to the outbox with the change that triggers it, "
        "signed (Standard Webhooks) and retried until delivered.\n"
        "Immediate: Odoo's own behaviour, one unsigned try after commit with a "
        "one-second timeout; lost when the receiver is down.",
    )
    webhook_endpoint_id = fields.Many2one(
        "integration.webhook.endpoint",
        ondelete="restrict",
        groups="integration_gateway.group_integration_manager",
        help="Where queued webhooks of this action go: the endpoint of its URL, "
        "found or created when the action is saved (a trailing slash or another "
        "spelling of the URL finds the same endpoint). Pick an endpoint to post "
        "through it: the URL follows.",
    )
    webhook_event_type_id = fields.Many2one(
        "integration.webhook.event.type",
        string="Event Type",
        ondelete="restrict",
        groups="integration_gateway.group_integration_manager",
        help="The type of the events this action sends. Saving a queued action "
        "without one creates one from its model and trigger; its fields are the "
        "action's fields.",
    )

    webhook_confirm_breaking_change = fields.Boolean(
        string="Confirm Breaking Change",
        compute="_compute_webhook_confirm_breaking_change",
        readonly=False,
        groups="integration_gateway.group_integration_manager",
        help="Tick to save a change of the fields that breaks the receivers of "
        "endpoints subscribed to the action's event type.",
    )

    def _compute_webhook_confirm_breaking_change(self):
        self.webhook_confirm_breaking_change = False

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("webhook_endpoint_id") and not vals.get("webhook_url"):
                endpoint = self.env["integration.webhook.endpoint"].browse(
                    vals["webhook_endpoint_id"]
                )
                vals["webhook_url"] = endpoint.sudo().url
        actions = super().create(vals_list)
        actions._link_webhook_endpoints()
        actions._link_webhook_event_types()
        return actions

    def write(self, vals):
        # A confirmation, not data: it goes to the event type with the fields.
        vals = dict(vals)
        confirmed = vals.pop("webhook_confirm_breaking_change", False)
        if vals.get("webhook_endpoint_id") and "webhook_url" not in vals:
            endpoint = self.env["integration.webhook.endpoint"].browse(
                vals["webhook_endpoint_id"]
            )
            vals = {**vals, "webhook_url": endpoint.sudo().url}
        result = super().write(vals)
        if _ENDPOINT_FIELDS & vals.keys() and not syncing_url(self.env):
            self._link_webhook_endpoints()
        if _EVENT_TYPE_FIELDS & vals.keys() or "webhook_event_type_id" in vals:
            self._link_webhook_event_types(
                chosen="webhook_event_type_id" in vals, confirmed=confirmed
            )
        return result

    def _link_webhook_endpoints(self):
        """Gives queued webhook actions the endpoint of their URL, creating it
        when there is none, so that nothing is looked up at event time."""
        endpoints = self.env["integration.webhook.endpoint"].sudo()
        for action in self.sudo():
            if not (
                action.state == "webhook"
                and action.webhook_delivery_mode == "queued"
                and action.webhook_url
            ):
                if action.webhook_endpoint_id:
                    # An endpoint's URL changes reach its actions: only those
                    # that post through it follow.
                    action.with_context(**SYNCING_URL).write(
                        {"webhook_endpoint_id": False}
                    )
                continue
            if action.webhook_endpoint_id.url == action.webhook_url:
                continue
            endpoint, created = endpoints._integration_endpoint_for_url(
                action.webhook_url
            )
            # The action's URL follows its endpoint's (one spelling of it).
            action.with_context(**SYNCING_URL).write(
                {"webhook_endpoint_id": endpoint.id, "webhook_url": endpoint.url}
            )
            if created:
                action._integration_notify_new_endpoint(endpoint)

    def _link_webhook_event_types(self, chosen=False, confirmed=False):
        """Gives every queued webhook action an event type, made from its model
        and its automation's trigger when it has none (or when its model
        changed), and keeps the type's fields those the action sends, so that
        the catalog describes exactly what is sent. ``chosen``: the type was
        just picked by the user, who is told when it does not fit;
        ``confirmed``: the user confirmed a change that breaks receivers."""
        for action in self.sudo():
            if not (
                action.state == "webhook" and action.webhook_delivery_mode == "queued"
            ):
                continue
            event_type = action.webhook_event_type_id
            if event_type and event_type.model_id != action.model_id:
                if chosen:
                    raise ValidationError(
                        self.env._(
                            "The event type %(type)s is about %(type_model)s, not "
                            "about %(model)s like the action %(action)s.",
                            type=event_type.name,
                            type_model=event_type.model,
                            model=action.model_id.model,
                            action=action.name,
                        )
                    )
                event_type = False
            if not event_type:
                event_type = action._new_webhook_event_type()
                action.webhook_event_type_id = event_type
            others = event_type.action_ids.filtered(
                lambda other, a=action: (
                    other != a
                    and other.state == "webhook"
                    and other.webhook_delivery_mode == "queued"
                )
            )
            if any(
                other.webhook_field_ids != action.webhook_field_ids for other in others
            ):
                raise ValidationError(
                    self.env._(
                        "The actions %(actions)s send the event type %(type)s too, "
                        "with other fields: actions of one event type send the same "
                        "fields.",
                        actions=", ".join(others.mapped("name")),
                        type=event_type.name,
                    )
                )
            if event_type.field_ids != action.webhook_field_ids:
                event_type.write(
                    {
                        "field_ids": [Command.set(action.webhook_field_ids.ids)],
                        "confirm_breaking_change": confirmed,
                    }
                )

    def _new_webhook_event_type(self):
        """A new event type for this action, named after its model and its
        automation's trigger (made unique with a number when taken)."""
        self.ensure_one()
        automation = self.base_automation_id
        value = None
        if automation.trigger and automation.trigger.endswith("_set"):
            value = automation.trg_selection_field_id.value or (
                automation.trg_field_ref or None
            )
        base = event_schema.suggested_name(
            self.model_id.model, automation.trigger or None, value
        )
        EventTypes = self.env["integration.webhook.event.type"].sudo()
        taken = set(
            EventTypes.with_context(active_test=False)
            .search([("name", "=like", f"{base}%")])
            .mapped("name")
        )
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base}_{number}"
        return EventTypes.create(
            {
                "name": name,
                "model_id": self.model_id.id,
                "field_ids": self.webhook_field_ids.ids,
                "description": self.env._(
                    "Sent by the action %(action)s.", action=self.name
                ),
            }
        )

    def _run_action_webhook(self, eval_context=None):
        if self.webhook_delivery_mode == "immediate":
            return super()._run_action_webhook(eval_context=eval_context)
        record = self.env[self.model_id.model].browse(self.env.context.get("active_id"))
        if not record:
            return None
        endpoint = self.sudo().webhook_endpoint_id
        if not self.webhook_url or not endpoint:
            raise UserError(
                self.env._(
                    "The webhook action %(action)s has no URL or no endpoint: set "
                    "its URL and save it.",
                    action=self.name,
                )
            )
        self.env["integration.webhook.delivery"]._enqueue_event(
            self._webhook_destinations(record, endpoint),
            self._webhook_payload(record),
            record=record,
            action=self,
            event_type=self.sudo().webhook_event_type_id,
        )
        _logger.debug("Webhook of %s queued", record)
        return None

    def _webhook_destinations(self, record, endpoint):
        """The endpoints an event of this action for ``record`` goes to: the
        endpoint of its URL, and the active endpoints subscribed to its event
        type whose filter the record matches (each once)."""
        destinations = endpoint
        event_type = self.sudo().webhook_event_type_id
        if not event_type:
            return destinations
        Subscriptions = self.env["integration.webhook.subscription"]
        for endpoint_id, domain in Subscriptions._integration_of_event_type(
            event_type.id
        ):
            subscriber = destinations.browse(endpoint_id)
            if subscriber in destinations:
                continue
            if not domain or record.sudo().filtered_domain(list(domain)):
                destinations |= subscriber
        return destinations

    def _webhook_payload(self, record):
        """The JSON body of this action's webhook for ``record``, in the shape
        Odoo's immediate webhooks have, so that existing receivers keep
        working."""
        values = {
            "_model": self.model_id.model,
            "_id": record.id,
            "_action": f"{self.name}(#{self.id})",
        }
        if names := self._integration_webhook_field_names(self.id):
            values.update(record.read(list(names), load=None)[0])
        # str() for what JSON has no type for (dates, binaries, ...), as Odoo does.
        return json.dumps(values, sort_keys=True, default=str)

    def _compute_warning(self):
        # Odoo computes an action's warnings before each of its runs: for a
        # webhook, that reads its fields and their definitions, two queries
        # on the path of every event. They depend on the action's settings
        # (each change of an action empties the registry's caches on every
        # worker: ir.actions.actions.write) and on the models' fields (a
        # registry reload): a saved webhook action's are kept per worker.
        saved = self.filtered(lambda a: a.state == "webhook" and isinstance(a.id, int))
        result = super(IrActionsServer, self - saved)._compute_warning()
        for action in saved:
            action.warning = self._integration_saved_warning(action.id, self.env.lang)
        return result

    @api.model
    @tools.ormcache("action_id", "lang")
    def _integration_saved_warning(self, action_id, lang):
        action = self.sudo().with_context(lang=lang).browse(action_id)
        return "\n\n".join(action._get_warning_messages()) or False

    @api.model
    @tools.ormcache("action_id")
    def _integration_webhook_field_names(self, action_id):
        """The names of the fields the webhook of action ``action_id`` sends,
        read once per worker, not on every event: a change of an action
        empties that cache on every worker (ir.actions.actions.write)."""
        return tuple(self.sudo().browse(action_id).webhook_field_ids.mapped("name"))

    @api.model
    def _link_existing_webhook_actions(self):
        """At install: queued endpoints for the webhook actions that already
        exist. Those whose URL reaches a private network now are allowed to,
        so that they keep working; the log says which."""
        actions = self.sudo().search(
            [("state", "=", "webhook"), ("webhook_url", "!=", False)]
        )
        for action in actions:
            try:
                with self.env.cr.savepoint():
                    action._link_webhook_endpoints()
                    action._link_webhook_event_types()
            except ValidationError as exc:
                # Odoo took any text as a URL: such an action keeps Odoo's own
                # behaviour rather than stopping the installation.
                action.webhook_delivery_mode = "immediate"
                _logger.warning(
                    "Webhook action %r (#%s) keeps immediate delivery: %s",
                    action.name,
                    action.id,
                    exc,
                )
        for endpoint in actions.webhook_endpoint_id:
            if endpoint.allow_private_network:
                continue
            reason = sender.private_destination(endpoint.url)
            if reason:
                endpoint.allow_private_network = True
                _logger.info(
                    "Webhook endpoint %r (#%s) may reach private networks, as the "
                    "existing webhook action(s) %s did: %s",
                    endpoint.name,
                    endpoint.id,
                    ", ".join(endpoint.action_ids.mapped("name")),
                    reason,
                )
