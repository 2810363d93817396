import json

from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL

from ..lib import endpoint_alerts as alerts

# The endpoint's fields the internal events carry (not its URL: it may hold
# credentials).
EVENT_FIELDS = (
    "name",
    "consecutive_failures",
    "failing_since",
    "last_success_at",
    "disabled_at",
    "disabled_reason",
)
MANAGER_GROUP = "integration_gateway.group_integration_manager"


class IntegrationWebhookEndpoint(models.Model):
    """Alerts before an endpoint breaks, when it does, and when it recovers
    (decided by :mod:`lib.endpoint_alerts`): one message in its chatter
    (its followers get it by email), an activity for its responsible user,
    and the internal events ``integration.endpoint.failing``, ``.disabled``
    and ``.recovered`` for the endpoints subscribed to them. Deliveries that
    went dead are told at most once per endpoint per hour."""

    _name = "integration.webhook.endpoint"
    _inherit = ["integration.webhook.endpoint", "mail.activity.mixin"]  # noqa: RUF012

    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        # Not a portal user, nor OdooBot (endpoints made at install time).
        default=lambda self: self.env.user.filtered(
            lambda user: not user.share and not user._is_superuser()
        ),
        tracking=True,
        domain=[("share", "=", False)],
        help="Gets an activity when the endpoint is failing, disabled or has "
        "dead deliveries (without one, the Integration Managers are told).",
    )
    alert_state = fields.Selection(
        [(alerts.FAILING, "Failing"), (alerts.DISABLED, "Disabled")],
        readonly=True,
        copy=False,
        help="The last alert raised and not yet followed by a recovery.",
    )
    alert_changed_at = fields.Datetime(readonly=True, copy=False)
    dead_notified_at = fields.Datetime(
        readonly=True,
        copy=False,
        help="When its people were last told of deliveries that went dead.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        endpoints = super().create(vals_list)
        for endpoint in endpoints.filtered("user_id"):
            endpoint.message_subscribe(partner_ids=endpoint.user_id.partner_id.ids)
        return endpoints

    def write(self, vals):
        result = super().write(vals)
        if vals.get("user_id"):
            for endpoint in self:
                endpoint.message_subscribe(partner_ids=endpoint.user_id.partner_id.ids)
        return result

    # -- the check ------------------------------------------------------------

    @api.model
    def _cron_check_alerts(self):
        """Cron: raises the alerts the endpoints' state calls for (each
        once), then tells of deliveries that went dead."""
        now = fields.Datetime.now()
        params = self.env["ir.config_parameter"].sudo()
        thresholds = alerts.Thresholds.parse(
            params.get_param(alerts.FAILING_AFTER_PARAM),
            params.get_param(alerts.BACKLOG_AFTER_PARAM),
        )
        # Every endpoint that is not archived, disabled ones included: the
        # alerts' job (endpoints are a few dozen, not a table that grows with
        # traffic).
        endpoints = self.sudo().search([])  # pylint: disable=no-search-all
        oldest = self._integration_oldest_waiting(endpoints.ids)
        circuit_open = self._integration_circuit_open(endpoints)
        for endpoint in endpoints:
            failing = alerts.condition(
                failing_since=endpoint.failing_since,
                oldest_waiting_since=oldest.get(endpoint.id),
                circuit_open=endpoint.id in circuit_open,
                now=now,
                thresholds=thresholds,
            )
            alert = alerts.transition(
                endpoint.alert_state or alerts.NONE,
                disabled=bool(endpoint.disabled_at),
                failing=failing,
            )
            if alert:
                endpoint._integration_raise_alert(alert)
        self._integration_notify_dead(now)

    @api.model
    def _integration_oldest_waiting(self, endpoint_ids):
        """``{endpoint id: create date of its oldest waiting delivery}``."""
        if not endpoint_ids:
            return {}
        self.env["integration.webhook.delivery"].flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT endpoint_id, min(create_date)"
                "  FROM integration_webhook_delivery"
                " WHERE state IN ('pending', 'retrying', 'sending')"
                "   AND endpoint_id = ANY(%s) GROUP BY endpoint_id",
                endpoint_ids,
            )
        )
        return dict(self.env.cr.fetchall())

    @api.model
    def _integration_circuit_open(self, endpoints):
        """The ids of ``endpoints`` whose circuit breaker is not closed
        (open, or half-open while a probe is out), which makes them
        failing."""
        return set(
            endpoints.filtered(lambda e: (e.circuit_state or "closed") != "closed").ids
        )

    # -- telling people -------------------------------------------------------

    def _integration_raise_alert(self, alert, post=True):
        """Raises ``alert`` (``lib.endpoint_alerts``: failing, disabled or
        recovered) for this endpoint: its message (unless already ``post``ed
        by the caller), the responsible's activity, the internal event, and
        the new alert state."""
        self.ensure_one()
        endpoint = self.sudo()
        if post:
            endpoint.message_post(
                body=Markup("<p>%s</p>") % endpoint._integration_alert_text(alert),
                partner_ids=endpoint._integration_told_partners().ids,
                subtype_xmlid="mail.mt_comment",
            )
        if alert == alerts.RECOVERED:
            endpoint.activity_ids.filtered(
                lambda a: (
                    a.activity_type_id
                    == self.env.ref("mail.mail_activity_data_warning")
                )
            ).action_feedback(feedback=self.env._("The endpoint recovered."))
        elif endpoint.user_id:
            endpoint.activity_schedule(
                "mail.mail_activity_data_warning",
                user_id=endpoint.user_id.id,
                summary=endpoint._integration_alert_summary(alert),
                note=endpoint._integration_alert_text(alert),
            )
        endpoint.write(
            {
                "alert_state": alerts.state_after(alert) or False,
                "alert_changed_at": fields.Datetime.now(),
            }
        )
        endpoint._integration_emit_alert_event(alert)

    def _integration_alert_summary(self, alert):
        return {
            alerts.FAILING: self.env._("Webhook endpoint failing"),
            alerts.DISABLED: self.env._("Webhook endpoint disabled"),
            alerts.RECOVERED: self.env._("Webhook endpoint recovered"),
        }[alert]

    def _integration_alert_text(self, alert):
        if alert == alerts.FAILING:
            return self.env._(
                "Webhook endpoint %(name)s is failing: %(failures)s failed attempts "
                "since %(since)s (UTC), %(waiting)s deliveries waiting. It is "
                "disabled after 5 days without a success.",
                name=self.name,
                failures=self.consecutive_failures,
                since=fields.Datetime.to_string(self.failing_since) or "-",
                waiting=self.waiting_count,
            )
        if alert == alerts.DISABLED:
            return self.env._(
                "Webhook endpoint %(name)s was disabled: %(reason)s. Its new "
                "deliveries wait until it is enabled again.",
                name=self.name,
                reason=self.disabled_reason or "-",
            )
        return self.env._(
            "Webhook endpoint %(name)s recovered: deliveries are accepted again.",
            name=self.name,
        )

    def _integration_told_partners(self):
        """Who is told besides the followers: the responsible user, or the
        Integration Managers when there is none."""
        if self.user_id:
            return self.user_id.partner_id
        managers = self.env.ref(MANAGER_GROUP).sudo().all_user_ids
        return managers.filtered(lambda u: u.active and not u.share).partner_id

    def _integration_emit_alert_event(self, alert):
        """Queues the internal event of ``alert`` for the endpoints
        subscribed to it (never to this endpoint itself), through the
        ordinary outbox."""
        event_type = self.env.ref(
            f"integration_gateway.event_type_endpoint_{alert}", raise_if_not_found=False
        )
        if not event_type or not event_type.active:
            return
        Subscriptions = self.env["integration.webhook.subscription"]
        subscribers = self.browse(
            endpoint_id
            for endpoint_id, domain in Subscriptions._integration_of_event_type(
                event_type.id
            )
            if endpoint_id != self.id
            and (not domain or self.filtered_domain(list(domain)))
        )
        if not subscribers:
            return
        values = {
            "_model": self._name,
            "_id": self.id,
            "_action": alerts.EVENTS[alert],
            **self.read(list(EVENT_FIELDS), load=None)[0],
        }
        values.pop("id", None)
        self.env["integration.webhook.delivery"]._enqueue_event(
            subscribers,
            json.dumps(values, sort_keys=True, default=str),
            record=self,
            event_type=event_type,
        )

    @api.model
    def _integration_notify_dead(self, now):
        """Tells each endpoint's people of its deliveries that went dead
        since it was last told, at most once per ``DEAD_NOTICE_INTERVAL``."""
        self.env["integration.webhook.delivery"].flush_model()
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT d.endpoint_id, count(*), min(d.write_date)"
                "  FROM integration_webhook_delivery d"
                "  JOIN integration_webhook_endpoint e ON e.id = d.endpoint_id"
                " WHERE d.state = 'dead' AND d.is_test IS NOT TRUE"
                "   AND d.write_date >= COALESCE(e.dead_notified_at, e.create_date)"
                "   AND (e.dead_notified_at IS NULL OR e.dead_notified_at <= %s)"
                " GROUP BY d.endpoint_id",
                now - alerts.DEAD_NOTICE_INTERVAL,
            )
        )
        for endpoint_id, count, since in self.env.cr.fetchall():
            endpoint = self.sudo().browse(endpoint_id)
            text = self.env._(
                "%(count)s deliveries to %(name)s went dead since %(since)s (UTC): "
                "every retry failed. Look at their last error, then requeue them "
                "(Replay Failed).",
                count=count,
                name=endpoint.name,
                since=fields.Datetime.to_string(since),
            )
            endpoint.message_post(
                body=Markup("<p>%s</p>") % text,
                partner_ids=endpoint._integration_told_partners().ids,
                subtype_xmlid="mail.mt_comment",
            )
            if endpoint.user_id:
                endpoint.activity_schedule(
                    "mail.mail_activity_data_warning",
                    user_id=endpoint.user_id.id,
                    summary=self.env._("Dead webhook deliveries"),
                    note=text,
                )
            endpoint.write({"dead_notified_at": now})


class IntegrationWebhookDispatcher(models.AbstractModel):
    _inherit = "integration.webhook.dispatcher"

    def _notify_disabled(self, endpoints):
        # The message is the dispatcher's own; the rest of the alert follows.
        result = super()._notify_disabled(endpoints)
        for endpoint in endpoints.sudo():
            if endpoint.alert_state != alerts.DISABLED:
                endpoint._integration_raise_alert(alerts.DISABLED, post=False)
        return result
