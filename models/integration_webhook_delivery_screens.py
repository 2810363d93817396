import json

from odoo import api, fields, models
from odoo.fields import Domain

from ..lib.outbox import delivery as outbox_delivery

# The record search looks a name up in at most this many models, the
# distinct models deliveries were queued for.
RECORD_SEARCH_MODELS = 50


class IntegrationWebhookDelivery(models.Model):
    """What the delivery screens need beyond the outbox: the record a
    delivery is about, found by its name or id; buttons shown only when
    they can work; list actions that act on the rows they can and say how
    many they skipped."""

    _inherit = "integration.webhook.delivery"

    record_name = fields.Char(
        string="Record",
        compute="_compute_record_name",
        search="_search_record_name",
        help="The record the event is about, searched by its name or its id.",
    )
    lease_expired = fields.Boolean(
        compute="_compute_lease_expired",
        help="Being sent by a dispatcher that has not answered within its "
        "lease: nobody is sending it any more.",
    )

    payload_pretty = fields.Text(
        string="Payload (indented)",
        compute="_compute_payload_pretty",
        help="The JSON body as sent, indented to be read.",
    )

    @api.depends("payload")
    def _compute_payload_pretty(self):
        for delivery in self:
            try:
                delivery.payload_pretty = json.dumps(
                    json.loads(delivery.payload or "null"),
                    indent=2,
                    ensure_ascii=False,
                )
            except ValueError:
                delivery.payload_pretty = delivery.payload

    @api.depends("res_model", "res_id")
    def _compute_record_name(self):
        for delivery in self:
            delivery.record_name = False
            model = delivery.res_model
            if not model or not delivery.res_id or model not in self.env:
                continue
            record = self.env[model].browse(delivery.res_id)
            if not record.has_access("read"):
                delivery.record_name = f"{model},{delivery.res_id}"
                continue
            record = record.exists()
            delivery.record_name = record.display_name if record else False

    def _search_record_name(self, operator, value):
        if operator not in ("ilike", "=") or not isinstance(value, str):
            return NotImplemented
        value = value.strip()
        domains = []
        if value.isdigit():
            domains.append(Domain("res_id", "=", int(value)))
        groups = self.sudo()._read_group(
            [("res_model", "!=", False)], ["res_model"], limit=RECORD_SEARCH_MODELS
        )
        for (model,) in groups:
            if model not in self.env or not self.env[model].has_access("read"):
                continue
            ids = self.env[model]._search([("display_name", operator, value)])
            domains.append(
                Domain("res_model", "=", model) & Domain("res_id", "in", ids)
            )
        return Domain.OR(domains) if domains else Domain.FALSE

    def _compute_lease_expired(self):
        now = fields.Datetime.now()
        for delivery in self:
            delivery.lease_expired = bool(
                delivery.state == "sending"
                and delivery.lease_expires_at
                and delivery.lease_expires_at <= now
            )

    def action_open_record(self):
        """The record the event is about: did it reach the receiver? Its
        Actions menu lists its deliveries."""
        self.ensure_one()
        self.check_access("read")
        if not self.res_model or self.res_model not in self.env:
            return False
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "views": [(False, "form")],
            "view_mode": "form",
        }

    # -- list actions: the eligible rows, and how many were skipped ----------

    def action_list_retry_now(self):
        eligible = self.filtered(lambda d: d.state in outbox_delivery.WAITING_STATES)
        if eligible:
            eligible.action_retry_now()
        return self._list_outcome(
            eligible, self.env._("%(count)s made due now.", count=len(eligible))
        )

    def action_list_cancel(self):
        eligible = self.filtered(
            lambda d: d.state in ("pending", "retrying", "dead") or d.lease_expired
        )
        if eligible:
            eligible.action_cancel()
        return self._list_outcome(
            eligible, self.env._("%(count)s cancelled.", count=len(eligible))
        )

    def action_list_requeue(self):
        eligible = self.filtered(lambda d: d.state in ("dead", "cancelled"))
        if eligible:
            eligible.action_requeue()
        return self._list_outcome(
            eligible, self.env._("%(count)s queued again.", count=len(eligible))
        )

    def _list_outcome(self, done, text):
        """A notification saying how many of the selected rows ``done`` are
        and how many were skipped, then the list reloaded."""
        self.check_access("write")
        skipped = len(self) - len(done)
        if skipped:
            text += " " + self.env._(
                "%(count)s skipped: their state does not allow it.", count=skipped
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": text,
                "type": "warning" if skipped else "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
