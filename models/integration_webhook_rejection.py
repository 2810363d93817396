import json
import logging

import psycopg2

from odoo import api, fields, models, sql_db
from odoo.tools import SQL

from ..lib import defaults

_logger = logging.getLogger(__name__)

GC_BATCH = 5000  # rows removed per autovacuum step


class IntegrationWebhookRejection(models.Model):
    """A call to a validated incoming webhook that was refused.

    Written on a connection of its own and committed at once (see
    ``_record``), so it is kept whatever happens to the request's
    transaction. For the same reason it has no foreign key: the validator
    and automation are referred to by id and name, and stay readable after
    either is deleted.
    """

    _name = "integration.webhook.rejection"
    _description = "Refused Incoming Webhook Call"
    _order = "received_at desc, id desc"
    _rec_name = "reason"

    received_at = fields.Datetime(required=True, readonly=True, index=True)
    reason = fields.Selection(
        [
            ("length_required", "No Content-Length"),
            ("too_large", "Body too large"),
            ("content_type", "Content type not accepted"),
            ("network", "Network not allowed"),
            ("rate_limit", "Rate limit exceeded"),
            ("signature", "Signature refused"),
            ("not_json", "Body is not JSON"),
            ("no_message_id", "No message id"),
            ("schema", "Schema mismatch"),
        ],
        required=True,
        readonly=True,
    )
    status_code = fields.Integer(readonly=True, aggregator=None)
    message = fields.Text(readonly=True)
    validator_ref = fields.Integer(
        string="Validator ID", readonly=True, index=True, aggregator=None
    )
    validator_name = fields.Char(readonly=True)
    validator_id = fields.Many2one(
        "integration.webhook.validator",
        compute="_compute_validator_id",
        search="_search_validator_id",
    )
    automation_ref = fields.Integer(
        string="Automation ID", readonly=True, aggregator=None
    )
    automation_name = fields.Char(readonly=True)
    webhook_uuid = fields.Char(string="Webhook UUID", readonly=True, index=True)
    remote_addr = fields.Char(string="Client Address", readonly=True)
    request_headers = fields.Text(
        readonly=True, help="The call's headers, without credentials or signatures."
    )
    body_excerpt = fields.Text(
        readonly=True, help="The start of the body, when it was read."
    )

    def _compute_validator_id(self):
        existing = (
            self.env["integration.webhook.validator"]
            .browse(set(self.mapped("validator_ref")) - {0})
            .exists()
        )
        for rejection in self:
            ref = rejection.validator_ref
            rejection.validator_id = ref if ref in existing.ids else False

    def _search_validator_id(self, operator, value):
        if operator != "in":
            return NotImplemented
        return [("validator_ref", "in", [ref for ref in value if ref])]

    @api.model
    def _record(
        self,
        rejection,
        *,
        validator,
        webhook_uuid,
        remote_addr,
        headers,
        body_excerpt="",
    ):
        """Stores ``rejection`` (a ``lib.webhook_validation.Rejection``) of a
        call to ``validator``, committed on its own connection."""
        automation = (
            self.env["base.automation"]
            .sudo()
            .search([("webhook_uuid", "=", webhook_uuid)], limit=1)
        )
        now = fields.Datetime.now()
        values = {
            "received_at": now,
            "create_date": now,
            "write_date": now,
            "reason": rejection.reason,
            "status_code": rejection.status,
            "message": rejection.message,
            "validator_ref": validator.id,
            "validator_name": validator.sudo().name,
            "automation_ref": automation.id or None,
            "automation_name": automation.name or None,
            "webhook_uuid": webhook_uuid,
            "remote_addr": remote_addr,
            "request_headers": json.dumps(headers, indent=1, ensure_ascii=False),
            "body_excerpt": body_excerpt or None,
        }
        query = SQL(
            "INSERT INTO %s (%s) VALUES %s",
            SQL.identifier(self._table),
            SQL(", ").join(SQL.identifier(name) for name in values),
            tuple(values.values()),
        )
        try:
            # Its own connection, committed on leaving the block: the
            # request's transaction is rolled back after a refusal, and
            # the record of the refusal must stay.
            with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
                cr.execute(query)
        except psycopg2.Error:
            _logger.exception(
                "could not record the refused call to webhook %s (%s)",
                webhook_uuid,
                rejection.reason,
            )

    @api.autovacuum
    def _gc_old_rejections(self):
        """Removes rejections older than the retention set in Settings (0
        keeps them)."""
        params = self.env["ir.config_parameter"].sudo()
        cutoff = defaults.retention_cutoff(params.get_param, fields.Datetime.now())
        if cutoff is None:
            return 0, 0
        self.env.cr.execute(
            SQL(
                "DELETE FROM %(table)s WHERE id IN ("
                " SELECT id FROM %(table)s WHERE received_at < %(cutoff)s"
                " ORDER BY received_at LIMIT %(batch)s)",
                table=SQL.identifier(self._table),
                cutoff=cutoff,
                batch=GC_BATCH,
            )
        )
        done = self.env.cr.rowcount
        return done, int(done == GC_BATCH)
