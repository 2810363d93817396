import json
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..lib.outbox import sender

_logger = logging.getLogger(__name__)

# Changes after which a webhook action's endpoint is looked up again.
_ENDPOINT_FIELDS = {
    "state",
    "webhook_url",
    "webhook_delivery_mode",
    "webhook_endpoint_id",
}


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
        "found or created when the action is saved.",
    )

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
        return actions

    def write(self, vals):
        if vals.get("webhook_endpoint_id") and "webhook_url" not in vals:
            endpoint = self.env["integration.webhook.endpoint"].browse(
                vals["webhook_endpoint_id"]
            )
            vals = {**vals, "webhook_url": endpoint.sudo().url}
        result = super().write(vals)
        if _ENDPOINT_FIELDS & vals.keys() and not self.env.context.get(
            "integration_syncing_url"
        ):
            self._link_webhook_endpoints()
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
                    action.with_context(integration_syncing_url=True).write(
                        {"webhook_endpoint_id": False}
                    )
                continue
            if action.webhook_endpoint_id.url == action.webhook_url:
                continue
            endpoint = endpoints._for_url(action.webhook_url)
            action.with_context(integration_syncing_url=True).write(
                {"webhook_endpoint_id": endpoint.id}
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
        self.env["integration.webhook.delivery"]._enqueue(
            endpoint, self._webhook_payload(record), record=record, action=self
        )
        _logger.debug("Webhook of %s queued for endpoint #%s", record, endpoint.id)
        return None

    def _webhook_payload(self, record):
        """The JSON body of this action's webhook for ``record``, in the shape
        Odoo's immediate webhooks have, so that existing receivers keep
        working."""
        values = {
            "_model": self.model_id.model,
            "_id": record.id,
            "_action": f"{self.name}(#{self.id})",
        }
        if self.webhook_field_ids:
            values.update(
                record.read(self.webhook_field_ids.mapped("name"), load=None)[0]
            )
        # str() for what JSON has no type for (dates, binaries, ...), as Odoo does.
        return json.dumps(values, sort_keys=True, default=str)

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
