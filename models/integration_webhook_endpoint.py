from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.fields import Domain
from odoo.tools import format_datetime

from ..lib import outbox, standard_webhooks
from ..lib.outbox import endpoint as outbox_endpoint
from .constraints import check_parsed
from .internal_context import SYNCING_URL, syncing_url

MAX_TIMEOUT = 60  # seconds; a request must fit well inside a dispatcher's lease
SECRET_GRACE_HOURS = 24  # the previous secret still signs this long after a rotation


class IntegrationWebhookEndpoint(models.Model):
    """A destination of outgoing webhooks: where queued deliveries go, how
    they are signed, how patiently they are retried, and how healthy the
    receiver has been."""

    _name = "integration.webhook.endpoint"
    _description = "Webhook Endpoint"
    _inherit = "mail.thread"
    _order = "name, id"

    name = fields.Char(required=True, tracking=True)
    url = fields.Char(string="URL", required=True, tracking=True)
    active = fields.Boolean(
        default=True,
        tracking=True,
        help="Archived endpoints keep their deliveries waiting; nothing is sent "
        "until the endpoint is restored.",
    )
    secret = fields.Char(
        groups="base.group_system",
        copy=False,
        required=True,
        default=lambda self: standard_webhooks.generate_secret(),
        help="Standard Webhooks signing secret (whsec_...). Give it to the "
        "receiver so that it can verify the webhook-signature header.",
    )
    previous_secret = fields.Char(groups="base.group_system", copy=False)
    previous_secret_expires_at = fields.Datetime(
        string="Previous Secret Signs Until",
        copy=False,
        readonly=True,
        help="After a rotation, deliveries are signed with both the new and the "
        "previous secret until then, so the receiver can switch without losing "
        "any.",
    )
    secret_grace_hours = fields.Integer(
        string="Rotation Grace Period (hours)",
        default=SECRET_GRACE_HOURS,
        help="How long the previous secret keeps signing after a rotation.",
    )
    timeout = fields.Integer(
        string="Timeout (seconds)",
        default=15,
        required=True,
        help="How long to wait for the receiver's answer before the attempt "
        "counts as failed.",
    )
    retry_schedule = fields.Char(
        default=outbox.retry.DEFAULT_SCHEDULE,
        required=True,
        help="Delays before each retry, comma-separated, in s, m, h or d. Each "
        "varies by up to 10% at random. After the last one fails the delivery is "
        "dead. A Retry-After header on 429 or 503 replaces the step's delay.",
    )
    max_per_second = fields.Integer(
        string="Max Requests per Second",
        default=0,
        help="Throttle for receivers that cannot take bursts; 0 sends as fast as "
        "the dispatchers can.",
    )
    headers = fields.Text(
        string="Extra Headers",
        groups="base.group_system",
        help="Static headers added to every request, as a JSON object, e.g. "
        '{"Authorization": "Bearer ..."}. They often carry the receiver\'s '
        "credentials, so only system administrators see them.",
    )
    allow_private_network = fields.Boolean(
        tracking=True,
        groups="base.group_system",
        help="Allow this endpoint to reach loopback, private, link-local and "
        "cloud metadata addresses. Off by default so that a webhook cannot be "
        "used to reach internal services. Only system administrators set it, "
        "and a change of URL by anyone else turns it off.",
    )
    consecutive_failures = fields.Integer(default=0, readonly=True, copy=False)
    last_success_at = fields.Datetime(readonly=True, copy=False)
    failing_since = fields.Datetime(
        readonly=True,
        copy=False,
        help="First failed attempt since the last success.",
    )
    disabled_at = fields.Datetime(readonly=True, copy=False, tracking=True)
    disabled_reason = fields.Char(readonly=True, copy=False)
    health = fields.Selection(
        [
            ("healthy", "Healthy"),
            ("failing", "Failing"),
            ("disabled", "Disabled"),
            ("archived", "Archived"),
        ],
        compute="_compute_health",
    )
    # Unix time of the next free send slot of a throttled endpoint, shared by
    # every dispatcher through this row.
    throttle_next_at = fields.Float(copy=False, readonly=True)
    action_ids = fields.One2many(
        "ir.actions.server",
        "webhook_endpoint_id",
        string="Server Actions",
        groups="base.group_system",
    )
    delivery_ids = fields.One2many("integration.webhook.delivery", "endpoint_id")
    waiting_count = fields.Integer(compute="_compute_delivery_counts")
    dead_count = fields.Integer(compute="_compute_delivery_counts")
    health_color = fields.Integer(compute="_compute_health")
    attempt_count_24h = fields.Integer(
        string="Attempts (24 h)",
        compute="_compute_health_figures",
        help="Attempts of the last 24 hours, test events left out.",
    )
    success_rate_24h = fields.Float(
        string="Success Rate (24 h)",
        compute="_compute_health_figures",
        help="Share of the attempts of the last 24 hours answered with a 2xx.",
    )
    latency_p95_24h = fields.Integer(
        string="p95 Latency (ms, 24 h)",
        compute="_compute_health_figures",
        help="95% of the attempts of the last 24 hours took at most this long, "
        "from connecting to the end of the answer (or the timeout).",
    )

    _timeout_range = models.Constraint(
        f"CHECK(timeout BETWEEN 1 AND {MAX_TIMEOUT})",
        f"The timeout must be between 1 and {MAX_TIMEOUT} seconds.",
    )
    _max_per_second_positive = models.Constraint(
        "CHECK(max_per_second >= 0)",
        "Max requests per second cannot be negative (0 means no throttle).",
    )
    _secret_grace_positive = models.Constraint(
        "CHECK(secret_grace_hours >= 0)",
        "The rotation grace period cannot be negative.",
    )

    @api.depends("active", "disabled_at", "consecutive_failures")
    def _compute_health(self):
        for endpoint in self:
            attempts = endpoint.attempt_count_24h
            endpoint.health = outbox_endpoint.health(
                endpoint.active,
                endpoint.disabled_at,
                endpoint.consecutive_failures,
                attempts,
                round(endpoint.success_rate_24h * attempts),
            )
            endpoint.health_color = outbox_endpoint.HEALTH_COLORS[endpoint.health]

    def _compute_health_figures(self):
        since = fields.Datetime.now() - outbox_endpoint.HEALTH_WINDOW
        counts = self.env["integration.webhook.attempt"]._figures(self._origin, since)
        for endpoint in self:
            (
                endpoint.attempt_count_24h,
                endpoint.success_rate_24h,
                endpoint.latency_p95_24h,
            ) = outbox_endpoint.figures(*counts.get(endpoint._origin.id, (0, 0, 0)))

    def _compute_delivery_counts(self):
        groups = self.env["integration.webhook.delivery"]._read_group(
            [("endpoint_id", "in", self.ids), ("is_test", "=", False)],
            ["endpoint_id", "state"],
            ["__count"],
        )
        counts = {(endpoint.id, state): count for endpoint, state, count in groups}
        for endpoint in self:
            endpoint.waiting_count = sum(
                counts.get((endpoint.id, state), 0)
                for state in ("pending", "retrying", "sending")
            )
            endpoint.dead_count = counts.get((endpoint.id, "dead"), 0)

    @api.constrains("url")
    def _check_url(self):
        check_parsed(
            self,
            "url",
            outbox.sender.check_url,
            self.env._("The URL of endpoint %(name)s is not valid: %(error)s"),
        )

    @api.constrains("headers")
    def _check_headers(self):
        check_parsed(
            self.sudo(),
            "headers",
            outbox.sender.parse_headers,
            self.env._(
                "The extra headers of endpoint %(name)s are not valid: %(error)s"
            ),
        )

    @api.constrains("retry_schedule")
    def _check_retry_schedule(self):
        check_parsed(
            self,
            "retry_schedule",
            outbox.retry.parse_schedule,
            self.env._(
                "The retry schedule of endpoint %(name)s is not valid: %(error)s"
            ),
        )

    def write(self, vals):
        resumed = self.browse()
        if vals.get("active"):
            resumed = self.filtered(lambda e: not e.active)
        moved = self.browse()
        if "url" in vals:
            moved = self.filtered(lambda e: e.url != vals["url"])
        result = super().write(vals)
        if moved and not self.env.is_system():
            # The private-network permission and the extra headers (the
            # receiver's credentials) were given for the address an
            # administrator saw, not for wherever the endpoint points now.
            moved._drop_administrator_settings()
        if moved and not syncing_url(self.env):
            # The endpoint's URL is the one its actions post to.
            moved.sudo().action_ids.with_context(**SYNCING_URL).write(
                {"webhook_url": vals["url"]}
            )
        if resumed:
            resumed._resume_deliveries()
        return result

    def _drop_administrator_settings(self):
        """Clears what only a system administrator sets on an endpoint whose
        URL someone else changed, and says so in its chatter."""
        for endpoint in self.sudo().filtered(
            lambda e: e.allow_private_network or e.headers
        ):
            endpoint.write({"allow_private_network": False, "headers": False})
            endpoint.message_post(
                body=self.env._(
                    "The URL was changed by %(user)s: the extra headers and the "
                    "permission to reach private networks were removed. A system "
                    "administrator can set them again for the new URL.",
                    user=self.env.user.name,
                )
            )

    def action_enable(self):
        """Re-enables disabled endpoints: their waiting deliveries go out now."""
        self.check_access("write")
        self.write(
            {
                "disabled_at": False,
                "disabled_reason": False,
                "consecutive_failures": 0,
                "failing_since": False,
            }
        )
        self._resume_deliveries()
        return True

    def action_rotate_secret(self):
        """Replaces the secret; the previous one keeps signing during the
        grace period so that receivers can switch without losing a delivery.
        For system administrators: only they may read or set secrets."""
        if not self.env.is_system():
            raise AccessError(
                self.env._("Only system administrators can rotate a secret.")
            )
        now = fields.Datetime.now()
        for endpoint in self:
            previous, until = outbox_endpoint.rotation(
                endpoint.secret, endpoint.secret_grace_hours, now
            )
            endpoint.write(
                {
                    "previous_secret": previous,
                    "previous_secret_expires_at": until,
                    "secret": endpoint._new_secret(),
                }
            )
            endpoint.message_post(
                body=self.env._(
                    "Secret rotated. The previous secret keeps signing until "
                    "%(until)s.",
                    # In the time zone of the one who rotated it, named.
                    until=format_datetime(
                        self.env,
                        endpoint.previous_secret_expires_at or now,
                        dt_format="medium",
                    )
                    + f" ({self.env.user.tz or 'UTC'})",
                )
            )
        return True

    def action_send_test_event(self):
        """Sends a signed test event now and shows the receiver's answer. The
        event is kept as a delivery with its attempt; the endpoint's health
        is left as it is. For those who may change the endpoint: it is sent
        with the administrator's extra headers, recorded as superuser and
        shows the receiver's answer."""
        self.check_access("write")
        self.ensure_one()
        sent_at = fields.Datetime.to_string(fields.Datetime.now())
        payload = outbox_endpoint.test_event_payload(self._name, self.id, sent_at)
        return self.env["integration.webhook.test.event"]._send(self, payload)

    @api.model
    def _for_url(self, url, name=None):
        """The endpoint queued webhook actions posting to ``url`` use: an
        existing active one, or a new one."""
        endpoint = self.search([("url", "=", url)], limit=1)
        if not endpoint:
            name = name or outbox_endpoint.name_from_url(url)
            endpoint = self.create({"name": name, "url": url})
        return endpoint

    def _signing_secrets(self):
        """The secrets a delivery is signed with now: the current one, then
        the previous one while its grace period lasts."""
        self.ensure_one()
        return outbox_endpoint.signing_secrets(
            self.secret,
            self.previous_secret,
            self.previous_secret_expires_at,
            fields.Datetime.now(),
        )

    def _outbox_settings(self):
        """This endpoint's settings as the dispatcher uses them for a batch
        (:class:`lib.outbox.endpoint.EndpointSettings`), read once."""
        self.ensure_one()
        return outbox.endpoint.EndpointSettings.compile(
            url=self.url,
            headers=self.headers,
            timeout=self.timeout,
            schedule=self.retry_schedule,
            allow_private=self.allow_private_network,
            secrets=self._signing_secrets(),
            rate=self.max_per_second,
        )

    def _resume_deliveries(self):
        """Makes the deliveries waiting on these endpoints due now."""
        deliveries = self.env["integration.webhook.delivery"].sudo()
        waiting = deliveries.search(
            Domain("endpoint_id", "in", self.ids)
            & Domain("state", "in", outbox.delivery.WAITING_STATES)
        )
        if waiting:
            waiting.write({"next_attempt_at": fields.Datetime.now()})
            self.env["integration.webhook.dispatcher"]._wake()
