import json
import uuid

from odoo import api, fields, models
from odoo.tools import SQL

from ..lib import defaults, webhook_settings

GC_BATCH = 10000  # rows removed per autovacuum step


class IntegrationWebhookMessage(models.Model):
    """An incoming webhook message accepted by a validator.

    Immediate processing keeps the id of a message whose automation
    succeeded: a validator with replay protection claims the id in the
    transaction that runs the automation, so the claim is kept only if that
    transaction commits, and a concurrent call with the same id waits on
    the unique key until it knows whether the first one succeeded. Ids are
    remembered per automation: automations sharing a validator each run a
    message once.

    Queued processing stores the whole verified message (``payload``, the
    headers an automation may read, the client's address) in the call's
    transaction, with the same claim; the incoming queue's cron runs it
    later (``integration_webhook_message_run.py``).
    """

    _name = "integration.webhook.message"
    _description = "Incoming Webhook Message"
    _order = "received_at desc, id desc"
    _rec_name = "message_id"

    validator_id = fields.Many2one(
        "integration.webhook.validator",
        required=True,
        ondelete="cascade",
        readonly=True,
    )
    # Not required in the database: ids remembered per validator before
    # this field existed have none, and expire with their window. A deleted
    # automation leaves its messages behind: the sender was told they were
    # accepted, so they stay visible (dead, saying why) until someone
    # handles them.
    automation_id = fields.Many2one(
        "base.automation", ondelete="set null", readonly=True
    )
    message_id = fields.Char(
        required=True,
        readonly=True,
        help="The sender's id of the message, or one given on arrival when the "
        "sender gives none.",
    )
    received_at = fields.Datetime(required=True, readonly=True, index=True)
    processing = fields.Selection(
        [("immediate", "Immediate"), ("queued", "Queued")],
        required=True,
        default="immediate",
        readonly=True,
    )
    state = fields.Selection(
        [
            ("queued", "Queued"),
            ("retrying", "Retrying"),
            ("done", "Done"),
            ("dead", "Dead"),
        ],
        required=True,
        default="done",
        readonly=True,
        index=True,
    )
    payload = fields.Text(
        readonly=True,
        help="What the automation receives, as JSON; kept while the message "
        "waits and, once done, as long as the retention setting says.",
    )
    request_headers = fields.Text(
        readonly=True,
        help="The call's headers, without credentials or signatures; the "
        "automation reads them as env.context['webhook_headers'].",
    )
    remote_addr = fields.Char(string="Client Address", readonly=True)
    attempt_count = fields.Integer(string="Attempts", readonly=True)
    next_attempt_at = fields.Datetime(string="Next Attempt", readonly=True)
    processed_at = fields.Datetime(readonly=True)
    last_error = fields.Text(readonly=True)
    last_traceback = fields.Text(readonly=True, groups="base.group_system")

    _message_unique = models.Constraint(
        "UNIQUE (automation_id, message_id)",
        "A message id is remembered once per automation.",
    )
    # What the incoming queue's cron looks for.
    _waiting_index = models.Index(
        "(next_attempt_at, id) WHERE state IN ('queued', 'retrying')"
    )

    @api.model
    def _claim(self, automation_id, validator_id, message_id, window):
        """Claims ``message_id`` for ``automation_id`` (checked by
        ``validator_id``), unless that automation already processed it less
        than ``window`` seconds ago. Returns the claim's row id, or None for
        a duplicate."""
        cr = self.env.cr
        cr.execute(
            SQL(
                "INSERT INTO %(table)s AS m"
                " (automation_id, validator_id, message_id, received_at,"
                "  processing, state)"
                " VALUES (%(automation)s, %(validator)s, %(message)s, %(now)s,"
                "  'immediate', 'done')"
                " ON CONFLICT (automation_id, message_id) DO UPDATE"
                " SET received_at = EXCLUDED.received_at"
                " WHERE m.received_at < %(now)s - make_interval(secs => %(window)s)"
                " RETURNING m.id, %(now)s",
                table=SQL.identifier(self._table),
                automation=automation_id,
                validator=validator_id,
                message=message_id,
                # The transaction's time, what cr.now() asks for in a round
                # trip of its own.
                now=SQL("(now() AT TIME ZONE 'UTC')"),
                window=window,
            )
        )
        row = cr.fetchone()
        if row is None:
            return None
        # The automation's writes read cr.now() next: it is this time, known
        # now without asking. Odoo keeps it in ``_now`` (sql_db.BaseCursor).
        if getattr(cr, "_now", False) is None:
            cr._now = row[1]
        return row[0]

    @api.model
    def _enqueue(
        self, incoming, accepted, payload, *, headers, remote_addr, trace=None
    ):
        """Stores a message ``accepted`` by ``incoming``'s validator for the
        incoming queue, claiming its id as ``_claim`` does, and wakes the
        queue's cron at commit. ``trace``: the call's ``trace_id`` and
        ``parent_span_id``, which the deliveries its automation queues
        carry. Returns the message id, or None for a duplicate of a message
        already stored within the replay window (which is then stored
        once)."""
        message_id = accepted.message_id or f"in_{uuid.uuid4().hex}"
        trace = trace or {}
        # One statement, one round trip: the message, and the trigger of the
        # queue's cron picked by its id unless that cron is due already.
        # Times are the transaction's (what cr.now() would ask for).
        self.env.cr.execute(
            SQL(
                "WITH message AS ("
                " INSERT INTO %(table)s AS m"
                " (automation_id, validator_id, message_id, received_at,"
                "  processing, state, payload, request_headers, remote_addr,"
                "  attempt_count, next_attempt_at, trace_id, parent_span_id,"
                "  create_date, write_date, create_uid, write_uid)"
                " VALUES (%(automation)s, %(validator)s, %(message)s, %(now)s,"
                "  'queued', 'queued', %(payload)s, %(headers)s, %(addr)s,"
                "  0, %(now)s, %(trace)s, %(span)s,"
                "  %(now)s, %(now)s, %(uid)s, %(uid)s)"
                " ON CONFLICT (automation_id, message_id) DO UPDATE"
                " SET received_at = EXCLUDED.received_at,"
                "  processing = 'queued', state = 'queued',"
                "  payload = EXCLUDED.payload,"
                "  request_headers = EXCLUDED.request_headers,"
                "  remote_addr = EXCLUDED.remote_addr, attempt_count = 0,"
                "  next_attempt_at = EXCLUDED.next_attempt_at,"
                "  trace_id = EXCLUDED.trace_id,"
                "  parent_span_id = EXCLUDED.parent_span_id,"
                "  processed_at = NULL, last_error = NULL, last_traceback = NULL"
                # Only a message done long ago is taken again: one waiting,
                # or dead and waiting for someone, is the same message.
                " WHERE m.state = 'done'"
                "  AND m.received_at < %(now)s - make_interval(secs => %(window)s)"
                " RETURNING m.id),"
                " woken AS (%(trigger)s)"
                " SELECT (SELECT id FROM message),"
                " (SELECT count(*) FROM woken)",
                table=SQL.identifier(self._table),
                automation=incoming.automation_id,
                validator=incoming.validator_id,
                message=message_id,
                now=SQL("(now() AT TIME ZONE 'UTC')"),
                payload=json.dumps(payload, ensure_ascii=False),
                headers=json.dumps(headers, ensure_ascii=False),
                addr=remote_addr,
                trace=trace.get("trace_id") or None,
                span=trace.get("parent_span_id") or None,
                uid=self.env.uid,
                window=incoming.settings.replay_window,
                trigger=self.env["ir.cron"]._integration_incoming_trigger_sql(
                    SQL("(SELECT id FROM message)")
                ),
            )
        )
        queued, woken = self.env.cr.fetchone()
        if woken:
            self.env["ir.cron"]._integration_notify_at_commit()
        return message_id if queued else None

    @api.model
    def _release(self, claim_id):
        """Forgets a claim whose automation failed, so that the sender's
        retry runs it again."""
        self.env.cr.execute(
            SQL("DELETE FROM %s WHERE id = %s", SQL.identifier(self._table), claim_id)
        )

    @api.autovacuum
    def _gc_expired_messages(self):
        """Forgets processed messages older than their validator's replay
        window (stored in hours, converted by ``lib.webhook_settings``);
        queued messages are kept, once done, as long as the retention
        setting says too. Messages still waiting and dead ones are kept
        until someone handles them."""
        params = self.env["ir.config_parameter"].sudo()
        cutoff = defaults.retention_cutoff(params.get_param, fields.Datetime.now())
        self.env.cr.execute(
            SQL(
                "DELETE FROM %(table)s WHERE id IN ("
                " SELECT m.id FROM %(table)s m"
                " JOIN %(validators)s v ON v.id = m.validator_id"
                " WHERE m.state = 'done' AND m.received_at"
                "  < %(now)s - make_interval(secs => v.replay_window * %(unit)s)"
                "  AND (m.processing = 'immediate' OR %(kept)s)"
                " LIMIT %(batch)s)",
                kept=SQL("m.received_at < %s", cutoff) if cutoff else SQL("FALSE"),
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
