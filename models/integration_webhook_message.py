from odoo import api, fields, models
from odoo.tools import SQL

from ..lib import webhook_settings

GC_BATCH = 10000  # rows removed per autovacuum step


class IntegrationWebhookMessage(models.Model):
    """The id of an incoming webhook message whose automation succeeded.

    A validator with replay protection claims the id in the transaction
    that runs the automation: the claim is kept only if that transaction
    commits, and a concurrent call with the same id waits on the unique key
    until it knows whether the first one succeeded. Ids are remembered per
    automation: automations sharing a validator each run a message once.
    """

    _name = "integration.webhook.message"
    _description = "Processed Incoming Webhook Message"
    _order = "received_at desc, id desc"
    _rec_name = "message_id"

    validator_id = fields.Many2one(
        "integration.webhook.validator",
        required=True,
        ondelete="cascade",
        readonly=True,
    )
    # Not required in the database: ids remembered per validator before
    # this field existed have none, and expire with their window.
    automation_id = fields.Many2one(
        "base.automation", ondelete="cascade", readonly=True
    )
    message_id = fields.Char(required=True, readonly=True)
    received_at = fields.Datetime(required=True, readonly=True, index=True)

    _message_unique = models.Constraint(
        "UNIQUE (automation_id, message_id)",
        "A message id is remembered once per automation.",
    )

    @api.model
    def _claim(self, automation_id, validator_id, message_id, window):
        """Claims ``message_id`` for ``automation_id`` (checked by
        ``validator_id``), unless that automation already processed it less
        than ``window`` seconds ago. Returns the claim's row id, or None for
        a duplicate."""
        self.env.cr.execute(
            SQL(
                "INSERT INTO %(table)s AS m"
                " (automation_id, validator_id, message_id, received_at)"
                " VALUES (%(automation)s, %(validator)s, %(message)s, %(now)s)"
                " ON CONFLICT (automation_id, message_id) DO UPDATE"
                " SET received_at = EXCLUDED.received_at"
                " WHERE m.received_at < %(now)s - make_interval(secs => %(window)s)"
                " RETURNING m.id",
                table=SQL.identifier(self._table),
                automation=automation_id,
                validator=validator_id,
                message=message_id,
                now=self.env.cr.now(),
                window=window,
            )
        )
        row = self.env.cr.fetchone()
        return row[0] if row else None

    @api.model
    def _release(self, claim_id):
        """Forgets a claim whose automation failed, so that the sender's
        retry runs it again."""
        self.env.cr.execute(
            SQL("DELETE FROM %s WHERE id = %s", SQL.identifier(self._table), claim_id)
        )

    @api.autovacuum
    def _gc_expired_messages(self):
        """Forgets message ids older than their validator's replay window
        (stored in hours, converted by ``lib.webhook_settings``)."""
        self.env.cr.execute(
            SQL(
                "DELETE FROM %(table)s WHERE id IN ("
                " SELECT m.id FROM %(table)s m"
                " JOIN %(validators)s v ON v.id = m.validator_id"
                " WHERE m.received_at"
                "  < %(now)s - make_interval(secs => v.replay_window * %(unit)s)"
                " LIMIT %(batch)s)",
                table=SQL.identifier(self._table),
                validators=SQL.identifier(
                    self.env["integration.webhook.validator"]._table
                ),
                now=self.env.cr.now(),
                unit=webhook_settings.REPLAY_WINDOW_UNIT,
                batch=GC_BATCH,
            )
        )
        done = self.env.cr.rowcount
        return done, int(done == GC_BATCH)
