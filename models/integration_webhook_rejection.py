import json
import logging

import psycopg2

from odoo import api, fields, models
from odoo.tools import SQL, format_datetime

from ..lib import defaults, webhook_input
from ..plumbing import own_cursor

_logger = logging.getLogger(__name__)

GC_BATCH = 5000  # rows removed per autovacuum step


class IntegrationWebhookRejection(models.Model):
    """A call to a validated incoming webhook that was refused.

    Written on a connection of its own and committed at once (see
    ``_record``), so it is kept whatever happens to the request's
    transaction. For the same reason it has no foreign key: the validator
    and automation are referred to by id and name, and stay readable after
    either is deleted.

    Refusals of the same webhook, from the same source, for the same
    reason, within the same window of ``webhook_input.AGGREGATION_WINDOW``
    seconds are counted on one record (``count``), which keeps what the
    first one said and sent: a caller repeating a bad call cannot grow the
    table by more than one record per window.
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
            ("message_id", "Message id not accepted"),
            ("too_deep", "Body nested too deeply"),
            ("schema", "Schema mismatch"),
            ("verify_token", "Verify token refused"),
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
    automation_id = fields.Many2one(
        "base.automation",
        compute="_compute_automation_id",
        groups="base.group_system",
        help="The automation the refused call was for, while it exists.",
    )
    # The automation's secret URL: whoever knows it calls the automation.
    # Kept from everyone but those who see the automation itself.
    webhook_uuid = fields.Char(
        string="Webhook UUID", readonly=True, index=True, groups="base.group_system"
    )
    remote_addr = fields.Char(string="Client Address", readonly=True)
    message_id = fields.Char(
        string="Sender's Message ID",
        readonly=True,
        index="btree_not_null",
        help="The id the sender gave the message, where its scheme carries one, "
        "to find the refusals of a message the sender says it sent.",
    )
    request_headers = fields.Text(
        readonly=True, help="The call's headers, without credentials or signatures."
    )
    body_excerpt = fields.Text(
        readonly=True, help="The start of the body, when it was read."
    )
    count = fields.Integer(
        string="Calls",
        default=1,
        readonly=True,
        help="Calls refused for this reason from this source within the "
        "window; the record shows the first of them.",
    )
    last_received_at = fields.Datetime(
        string="Last Received", readonly=True, help="When the last of them came."
    )
    source = fields.Char(
        readonly=True,
        help="What repeated refusals are counted by: the client's address, or "
        "its /64 network for IPv6.",
    )
    window_start = fields.Datetime(readonly=True)

    _aggregation_unique = models.UniqueIndex(
        "(webhook_uuid, validator_ref, source, reason, window_start)"
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

    def _compute_automation_id(self):
        existing = (
            self.env["base.automation"]
            .with_context(active_test=False)
            .browse(set(self.mapped("automation_ref")) - {0})
            .exists()
        )
        for rejection in self:
            ref = rejection.automation_ref
            rejection.automation_id = ref if ref in existing.ids else False

    def _search_validator_id(self, operator, value):
        if operator != "in":
            return NotImplemented
        return [("validator_ref", "in", [ref for ref in value if ref])]

    @api.depends("reason", "received_at", "validator_name")
    def _compute_display_name(self):
        reasons = dict(self._fields["reason"]._description_selection(self.env))
        for rejection in self:
            rejection.display_name = self.env._(
                "%(reason)s at %(when)s (%(validator)s)",
                reason=reasons.get(rejection.reason, rejection.reason),
                when=format_datetime(self.env, rejection.received_at),
                validator=rejection.validator_name or self.env._("no validator"),
            )

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
        message_id=None,
    ):
        """Stores ``rejection`` (a ``lib.webhook_validation.Rejection``) of a
        call to ``validator``, committed on its own connection."""
        automation = (
            self.env["base.automation"]
            .sudo()
            .search([("webhook_uuid", "=", webhook_uuid)], limit=1)
        )
        now = fields.Datetime.now()

        def without_url(text):
            # A proxy's headers (X-Original-URI, Referer, ...) or the caller
            # may repeat the automation's URL: only the field above keeps it.
            if not (text and webhook_uuid):
                return text
            return text.replace(webhook_uuid, "<webhook>")

        values = {
            "received_at": now,
            "create_date": now,
            "write_date": now,
            "reason": rejection.reason,
            "status_code": rejection.status,
            "message": without_url(rejection.message),
            "validator_ref": validator.id,
            "validator_name": validator.sudo().name,
            "automation_ref": automation.id or None,
            "automation_name": automation.name or None,
            "webhook_uuid": webhook_uuid,
            "remote_addr": remote_addr,
            "request_headers": without_url(
                json.dumps(headers, indent=1, ensure_ascii=False)
            ),
            "body_excerpt": without_url(body_excerpt) or None,
            "message_id": message_id,
        }
        query = self._aggregated_insert(values)
        try:
            # Its own connection, committed on leaving the block: the
            # request's transaction is rolled back after a refusal, and
            # the record of the refusal must stay. At READ COMMITTED, so
            # that a record another worker just made is counted on rather
            # than failing to serialize.
            with own_cursor(self.env.cr.dbname) as cr:
                cr.execute(query)
        except (psycopg2.Error, ValueError):
            _logger.exception(
                "could not record the refused call to webhook %s (%s)",
                webhook_uuid,
                rejection.reason,
            )

    def _aggregated_insert(self, values):
        """The statement that records a refusal of ``values``: a new record,
        or one more call counted on the record of its webhook, source and
        reason in the current window. One statement, so that workers
        recording at once neither lose a count nor make two records."""
        now = values["received_at"]
        values = {
            name: webhook_input.printable(value) if isinstance(value, str) else value
            for name, value in values.items()
        }
        values.update(
            count=1,
            last_received_at=now,
            source=webhook_input.aggregation_source(values["remote_addr"] or ""),
            window_start=webhook_input.aggregation_window(now),
        )
        return SQL(
            "INSERT INTO %(table)s AS r (%(columns)s) VALUES %(values)s"
            " ON CONFLICT (webhook_uuid, validator_ref, source, reason, window_start)"
            " DO UPDATE SET count = r.count + 1,"
            " last_received_at = EXCLUDED.last_received_at,"
            " write_date = EXCLUDED.write_date",
            table=SQL.identifier(self._table),
            columns=SQL(", ").join(SQL.identifier(name) for name in values),
            values=tuple(values.values()),
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
