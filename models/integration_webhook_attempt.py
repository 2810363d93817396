from odoo import api, fields, models

from ..lib.outbox import retry


class IntegrationWebhookAttempt(models.Model):
    """One HTTP try of a delivery, as it happened: kept so that a failing
    integration can be diagnosed from Odoo."""

    _name = "integration.webhook.attempt"
    _description = "Webhook Delivery Attempt"
    _order = "started_at desc, id desc"

    delivery_id = fields.Many2one(
        "integration.webhook.delivery",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    endpoint_id = fields.Many2one(
        related="delivery_id.endpoint_id", store=True, index=True
    )
    started_at = fields.Datetime(required=True, readonly=True, index=True)
    duration_ms = fields.Integer(
        string="Duration (ms)", readonly=True, aggregator="avg"
    )
    status_code = fields.Integer(readonly=True, aggregator=None)
    response_excerpt = fields.Text(
        readonly=True, help="The start of the receiver's answer, truncated."
    )
    error = fields.Char(readonly=True, help="Why no answer came: timeout, refused, ...")
    succeeded = fields.Boolean(compute="_compute_succeeded", store=True)

    @api.depends("status_code")
    def _compute_succeeded(self):
        for attempt in self:
            attempt.succeeded = retry.succeeded(attempt.status_code or None)
