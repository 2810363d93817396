from odoo import api, fields, models
from odoo.tools import SQL, format_datetime

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

    @api.depends("delivery_id.uuid", "started_at", "status_code", "error")
    def _compute_display_name(self):
        for attempt in self:
            outcome = (
                f"HTTP {attempt.status_code}"
                if attempt.status_code
                else attempt.error or self.env._("no answer")
            )
            attempt.display_name = self.env._(
                "Attempt of %(delivery)s at %(when)s: %(outcome)s",
                delivery=(attempt.delivery_id.uuid or "")[:8],
                when=format_datetime(self.env, attempt.started_at),
                outcome=outcome,
            )

    @api.model
    def _figures(self, endpoints, since):
        """``{endpoint id: (attempts, 2xx answers, p95 duration in ms)}`` of
        the attempts to ``endpoints`` since ``since``, test events left out.
        One grouped query for them all: the overview shows many endpoints at
        once and must not query per endpoint."""
        ids = [id_ for id_ in endpoints.ids if id_]
        if not ids:
            return {}
        self.flush_model()
        self.env["integration.webhook.delivery"].flush_model(["is_test"])
        self.env.cr.execute(
            SQL(
                """
                SELECT a.endpoint_id,
                       count(*),
                       count(*) FILTER (WHERE a.status_code BETWEEN %s AND %s),
                       percentile_disc(0.95) WITHIN GROUP (ORDER BY a.duration_ms)
                  FROM integration_webhook_attempt a
                  JOIN integration_webhook_delivery d ON d.id = a.delivery_id
                 WHERE a.endpoint_id = ANY(%s)
                   AND a.started_at >= %s
                   AND d.is_test IS NOT TRUE
              GROUP BY a.endpoint_id
                """,
                retry.SUCCESS_MIN,
                retry.SUCCESS_MAX,
                ids,
                since,
            )
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}
