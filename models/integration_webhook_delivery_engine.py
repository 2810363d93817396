from odoo import fields, models
from odoo.tools import SQL

from ..lib.outbox import delivery as outbox_delivery

# Unsettled deliveries: an older one of these about the same record holds
# the next back on an endpoint keeping per-record order.
UNSETTLED = (*outbox_delivery.WAITING_STATES, "sending")


class IntegrationWebhookDelivery(models.Model):
    """What the delivery engine adds to a delivery: per-record order (the
    older delivery it waits for) and the index the claim reads it from."""

    _inherit = "integration.webhook.delivery"

    waiting_for_id = fields.Many2one(
        "integration.webhook.delivery",
        compute="_compute_waiting_for",
        help="On an endpoint keeping per-record order: the older delivery about "
        "the same record that must be delivered first. Once it is delivered, dead "
        "or cancelled, this one goes.",
    )

    # The unsettled deliveries of a record on an endpoint, oldest first: what
    # the claim looks up for each delivery of an endpoint keeping per-record
    # order.
    _record_order_index = models.Index(
        "(endpoint_id, res_model, res_id, id)"
        " WHERE state IN ('pending', 'retrying', 'sending')"
    )

    def _compute_waiting_for(self):
        self.waiting_for_id = False
        waiting = self.filtered(
            lambda d: (
                d.id
                and d.state in outbox_delivery.WAITING_STATES
                and d.res_model
                and d.endpoint_id.ordering == "per_record"
            )
        )
        if not waiting:
            return
        self.env.cr.execute(
            SQL(
                """
                SELECT d.id, (SELECT o.id FROM integration_webhook_delivery o
                               WHERE o.endpoint_id = d.endpoint_id
                                 AND o.res_model = d.res_model
                                 AND o.res_id = d.res_id AND o.id < d.id
                                 AND o.state IN %s
                               ORDER BY o.id DESC LIMIT 1)
                  FROM integration_webhook_delivery d
                 WHERE d.id = ANY(%s)
                """,
                UNSETTLED,
                waiting.ids,
            )
        )
        older = dict(self.env.cr.fetchall())
        for record in waiting:
            record.waiting_for_id = older.get(record.id) or False

    def action_cancel(self):
        """Gives up on deliveries; on endpoints keeping per-record order, the
        next delivery of each record goes now."""
        ordered = self.endpoint_id.filtered(lambda e: e.ordering == "per_record")
        result = super().action_cancel()
        if ordered:
            self.env["integration.webhook.dispatcher"]._wake()
        return result
