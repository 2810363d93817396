import uuid

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..lib import defaults, event_schema
from ..lib.outbox import delivery as outbox_delivery

GC_BATCH = 5000  # rows removed at once by the retention clean-up

STATES = outbox_delivery.STATES
WAITING_STATES = outbox_delivery.WAITING_STATES


class IntegrationWebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row written in the same
    transaction as the business change, then sent (and retried) by the
    dispatcher crons until delivered or dead."""

    _name = "integration.webhook.delivery"
    _description = "Webhook Delivery"
    _order = "id desc"
    _rec_name = "uuid"

    uuid = fields.Char(
        string="Webhook ID",
        required=True,
        readonly=True,
        copy=False,
        default=lambda self: str(uuid.uuid4()),
        help="Sent as webhook-id; the same on every retry so that receivers can "
        "ignore a delivery they already processed.",
    )
    endpoint_id = fields.Many2one(
        "integration.webhook.endpoint",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    res_model = fields.Char(string="Model", readonly=True, index=True)
    res_id = fields.Many2oneReference(
        string="Record ID", model_field="res_model", readonly=True, aggregator=None
    )
    action_id = fields.Many2one(
        "ir.actions.server",
        readonly=True,
        ondelete="set null",
        # Server actions are for system administrators only.
        groups="base.group_system",
    )
    event_type_id = fields.Many2one(
        "integration.webhook.event.type",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
        help="The type of the event, as named by the action that sent it.",
    )
    payload = fields.Text(required=True, readonly=True, help="The JSON body, as sent.")
    state = fields.Selection(STATES, default="pending", required=True, readonly=True)
    attempt_count = fields.Integer(
        default=0,
        readonly=True,
        aggregator=None,
        help="Attempts since the delivery was queued or requeued.",
    )
    next_attempt_at = fields.Datetime(
        default=fields.Datetime.now, readonly=True, help="When it is due."
    )
    lease_expires_at = fields.Datetime(readonly=True, copy=False)
    lease_token = fields.Char(readonly=True, copy=False)
    last_status_code = fields.Integer(readonly=True, aggregator=None)
    last_error = fields.Char(readonly=True)
    delivered_at = fields.Datetime(readonly=True)
    is_test = fields.Boolean(string="Test Event", readonly=True)
    attempt_ids = fields.One2many(
        "integration.webhook.attempt", "delivery_id", readonly=True
    )

    _uuid_unique = models.Constraint("UNIQUE(uuid)", "A webhook ID is used only once.")
    _due_index = models.Index(
        "(next_attempt_at, id) WHERE state IN ('pending', 'retrying', 'sending')"
    )
    # The same, endpoint by endpoint: what the dispatchers read while an
    # endpoint is disabled, to pass over its waiting deliveries.
    _endpoint_due_index = models.Index(
        "(endpoint_id, next_attempt_at, id) WHERE state IN ('pending', 'retrying')"
    )
    # Leases of deliveries being sent, to find those of a dispatcher that died.
    _lease_index = models.Index("(lease_expires_at, id) WHERE state = 'sending'")
    _delivered_index = models.Index("(delivered_at) WHERE state = 'delivered'")

    # -- CRUD ----------------------------------------------------------------

    def write(self, vals):
        # Odoo signs whatever a delivery holds: its payload, endpoint and id
        # are written by the outbox and the dispatcher only, and what people
        # may change, they change through the actions below.
        if not self.env.su:
            raise AccessError(
                self.env._(
                    "Webhook deliveries are changed through their actions (Retry "
                    "now, Cancel, Requeue) only."
                )
            )
        return super().write(vals)

    # -- actions -------------------------------------------------------------

    def action_retry_now(self):
        """Makes waiting deliveries due at once."""
        # Checked as the caller: what follows writes as superuser.
        self.check_access("write")
        waiting = self.filtered(lambda d: d.state in WAITING_STATES)
        if waiting != self:
            raise UserError(
                self.env._("Only pending or retrying deliveries can be retried now.")
            )
        waiting.sudo().write({"next_attempt_at": fields.Datetime.now()})
        self.env["integration.webhook.dispatcher"]._wake()
        return True

    def action_cancel(self):
        """Gives up on deliveries that are not delivered yet."""
        # Checked as the caller: what follows writes as superuser.
        self.check_access("write")
        # A lease that ran out is nobody's attempt any more (its dispatcher
        # died, and its endpoint may be disabled, so nobody claims it again).
        now = fields.Datetime.now()
        if self.filtered(
            lambda d: (
                d.state == "sending"
                and (not d.lease_expires_at or d.lease_expires_at > now)
            )
        ):
            raise UserError(
                self.env._(
                    "A delivery is being sent right now; cancel it once its attempt "
                    "is over."
                )
            )
        if self.filtered(lambda d: d.state == "delivered"):
            raise UserError(self.env._("Delivered webhooks cannot be cancelled."))
        self.sudo().write(
            {
                "state": "cancelled",
                "next_attempt_at": False,
                "lease_expires_at": False,
                "lease_token": False,
            }
        )
        return True

    def action_requeue(self):
        """Queues dead or cancelled deliveries again, with the same webhook id
        and a fresh retry schedule."""
        # Checked as the caller: what follows writes as superuser.
        self.check_access("write")
        if self.filtered(lambda d: d.state not in ("dead", "cancelled")):
            raise UserError(
                self.env._("Only dead or cancelled deliveries can be requeued.")
            )
        self.sudo().write(
            {
                "state": "pending",
                "attempt_count": 0,
                "next_attempt_at": fields.Datetime.now(),
            }
        )
        self.env["integration.webhook.dispatcher"]._wake()
        return True

    # -- queueing -------------------------------------------------------------

    @api.model
    def _enqueue(self, endpoint, payload, record=None, action=None):
        """Writes a delivery in the current transaction and wakes a dispatcher
        when the transaction commits."""
        return self._enqueue_event(endpoint, payload, record=record, action=action)

    def _enqueue_event(
        self, endpoints, payload, record=None, action=None, event_type=None
    ):
        """Writes one delivery of an event per endpoint, in one INSERT, in
        the current transaction, and wakes a dispatcher when it commits.
        ``payload`` is the event's body in Odoo's shape; endpoints that want
        the Standard Webhooks envelope get it, built once."""
        # Read once per worker, not once per event (the endpoint's row is
        # not read on this path).
        formats = endpoints.sudo()._integration_payload_formats()
        bodies = {"odoo": payload}
        if event_type and "standard" in formats.values():
            bodies["standard"] = event_schema.envelope(payload, event_type.name)
        delivery = self._insert_deliveries(
            [
                (endpoint.id, bodies.get(formats[endpoint.id], payload))
                for endpoint in endpoints
            ],
            record=record,
            action=action,
            event_type=event_type,
        )
        data = self.env.cr.precommit.data
        if "integration_gateway.wake" not in data:
            # The dispatcher picked by the first delivery, and the endpoints
            # of the transaction's deliveries.
            data["integration_gateway.wake"] = (delivery[:1].id, set())
            # At commit time, so that a rolled-back savepoint cannot take the
            # wake-up away from deliveries created after it.
            self.env.cr.precommit.add(self.sudo()._wake_dispatcher_on_commit)
        data["integration_gateway.wake"][1].update(endpoints.ids)
        return delivery

    def _insert_deliveries(self, rows, record=None, action=None, event_type=None):
        """Writes the deliveries ``rows`` ((endpoint id, body) pairs) of one
        event in one multi-row INSERT and returns them.

        The outbox write sits on the business transaction's path (every
        order confirmed pays for it), so it costs what one INSERT costs:
        the ORM's create would add, per row, the defaults' and the cache's
        bookkeeping that a new outbox row does not need. The values are
        the fields' defaults, set here; the rows are read back through the
        ORM like any other.
        """
        cr = self.env.cr
        now = fields.Datetime.now()
        created = cr.now()
        shared = {
            "res_model": record._name if record else None,
            "res_id": record.id if record else None,
            "action_id": action.id if action else None,
            "event_type_id": event_type.id if event_type else None,
            "state": "pending",
            "attempt_count": 0,
            "next_attempt_at": now,
            "is_test": False,
            "create_uid": self.env.uid,
            "create_date": created,
            "write_uid": self.env.uid,
            "write_date": created,
            **self._outbox_shared_values(),
        }
        # Each value as the ORM writes it (False of a text field is NULL).
        shared = {
            name: self._fields[name].convert_to_column_insert(value, self)
            for name, value in shared.items()
        }
        columns = ["uuid", "endpoint_id", "payload", *shared]
        values = SQL(", ").join(
            SQL(
                "(%s)",
                SQL(", ").join(
                    SQL("%s", value)
                    for value in (
                        str(uuid.uuid4()),
                        endpoint_id,
                        body,
                        *shared.values(),
                    )
                ),
            )
            for endpoint_id, body in rows
        )
        cr.execute(
            SQL(
                "INSERT INTO %s (%s) VALUES %s RETURNING id",
                SQL.identifier(self._table),
                SQL(", ").join(SQL.identifier(column) for column in columns),
                values,
            )
        )
        deliveries = self.sudo().browse([row[0] for row in cr.fetchall()])
        # What the ORM's create would keep up to date: the one2many fields
        # holding deliveries (e.g. an endpoint's delivery_ids already read in
        # this transaction). Nothing is computed from a new delivery yet (no
        # stored field depends on deliveries; keep it so, or recompute here).
        for name in ("endpoint_id", "action_id", "event_type_id"):
            for inverse in self.pool.field_inverses[self._fields[name]]:
                self.env[inverse.model_name].invalidate_model([inverse.name])
        return deliveries

    @api.model
    def _outbox_shared_values(self):
        """More column values that all the deliveries written together by
        :meth:`_insert_deliveries` share (e.g. the transaction's trace):
        override and extend."""
        return {}

    def _wake_dispatcher_on_commit(self):
        token, endpoint_ids = self.env.cr.precommit.data["integration_gateway.wake"]
        # Deliveries to archived or disabled endpoints wait, unsent, until
        # the endpoint is enabled again, which wakes the dispatchers then:
        # waking them now would make them look for nothing to send. Told
        # apart in the statement that writes the trigger.
        self.env["integration.webhook.endpoint"].flush_model(["active", "disabled_at"])
        self.env["integration.webhook.dispatcher"]._wake(
            one=token, for_endpoints=endpoint_ids
        )

    @api.model
    def _send_test(self, endpoint, payload, event_type=None):
        """Sends ``payload`` (as the endpoint receives it) to ``endpoint`` now
        as a test event, kept as a delivery with its single attempt; test
        events are not retried and leave the endpoint's health alone.
        Returns the :class:`lib.outbox.sender.Result` and the
        :class:`lib.outbox.delivery.Step` it came to."""
        delivery = self.sudo().create(
            {
                "endpoint_id": endpoint.id,
                "payload": payload,
                "res_model": endpoint._name,
                "res_id": endpoint.id,
                "event_type_id": event_type.id if event_type else False,
                "is_test": True,
                "state": "sending",
            }
        )
        message = endpoint.sudo()._outbox_settings().message(delivery.uuid, payload)
        result = self.env["integration.webhook.dispatcher"]._sender().send(message)
        step = outbox_delivery.test_event(result)
        attempt = outbox_delivery.attempt_row(result, step)
        del attempt["succeeded"]  # the attempt model computes it from the status
        self.env["integration.webhook.attempt"].sudo().create(
            {"delivery_id": delivery.id, **attempt}
        )
        delivery.write(outbox_delivery.delivery_row(step))
        return result, step

    # -- retention ------------------------------------------------------------

    @api.autovacuum
    def _gc_delivered(self):
        """Removes delivered webhooks and attempts older than the retention
        setting, a batch at a time (the autovacuum calls again while some
        remain); 0 keeps them."""
        params = self.env["ir.config_parameter"].sudo()
        cutoff = defaults.retention_cutoff(params.get_param, fields.Datetime.now())
        if cutoff is None:
            return 0, 0
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                DELETE FROM integration_webhook_delivery
                 WHERE id IN (SELECT id FROM integration_webhook_delivery
                               WHERE state = 'delivered' AND delivered_at < %s
                               LIMIT %s)
                """,
                cutoff,
                GC_BATCH,
            )
        )
        deliveries = cr.rowcount
        cr.execute(
            SQL(
                """
                DELETE FROM integration_webhook_attempt
                 WHERE id IN (SELECT id FROM integration_webhook_attempt
                               WHERE started_at < %s LIMIT %s)
                """,
                cutoff,
                GC_BATCH,
            )
        )
        attempts = cr.rowcount
        self.env.invalidate_all()
        done = deliveries + attempts
        more = deliveries == GC_BATCH or attempts == GC_BATCH
        return done, int(more)
