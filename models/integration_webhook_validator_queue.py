from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lib import webhook_presets, webhook_settings
from ..lib.outbox import retry
from .constraints import translated

PRESET_ONDELETE = dict.fromkeys(webhook_presets.PRESETS, "set default")


class IntegrationWebhookValidator(models.Model):
    """A validator's provider presets, handshakes and queued processing.

    ``processing`` = ``queued`` answers a call that passed every check with
    202 once its message is stored; the incoming queue's cron runs the
    automation later (``integration.webhook.message``), with retries.
    """

    _inherit = "integration.webhook.validator"

    signature_scheme = fields.Selection(
        selection_add=[
            ("slack", "Slack"),
            ("twilio", "Twilio"),
            ("zoom", "Zoom"),
            ("meta", "Meta (WhatsApp, Facebook, Instagram)"),
        ],
        ondelete=PRESET_ONDELETE,
    )
    processing = fields.Selection(
        [("immediate", "Immediate"), ("queued", "Queued")],
        # Not required in the database: validators written by SQL (tests,
        # imports) without it are immediate, as before this field.
        default="immediate",
        help="Immediate: the automation runs during the call, which is answered "
        "when it is done. Queued: once every check passes the message is stored "
        "and the call answered 202 at once; the automation runs shortly after, "
        "in a transaction of its own, and is retried on failure.",
    )
    ordered = fields.Boolean(
        string="In Arrival Order",
        help="Queued: run this validator's messages one at a time in the order "
        "they arrived; a message waiting for a retry holds back the later ones "
        "until it succeeds or is dead. Otherwise messages run in parallel.",
    )
    queue_retry_schedule = fields.Char(
        string="Retry Schedule",
        default=webhook_settings.DEFAULT_QUEUE_SCHEDULE,
        help="Queued: delays before each new try of a message whose automation "
        "failed (s, m, h, d); after the last the message is dead and waits for "
        "someone to run it again.",
    )
    handshake = fields.Selection(
        [
            ("none", "None"),
            ("slack", "Slack URL verification"),
            ("meta", "Meta verification request"),
            ("zoom", "Zoom URL validation"),
        ],
        default="none",
        help="Answer the provider's check of the URL before it sends events; it "
        "never runs the automation. Slack and Zoom sign their check: choose "
        "their signature preset too. Meta's is a GET carrying the verify token.",
    )
    verify_token = fields.Char(
        groups="base.group_system",
        copy=False,
        help="Meta: the verify token entered in the app's webhook settings.",
    )
    message_count = fields.Integer(compute="_compute_message_count")
    dead_message_count = fields.Integer(compute="_compute_message_count")

    def _compute_message_count(self):
        Message = self.env["integration.webhook.message"]
        counts = dict(
            Message._read_group(
                [("validator_id", "in", self.ids)], ["validator_id"], ["__count"]
            )
        )
        dead = dict(
            Message._read_group(
                [("validator_id", "in", self.ids), ("state", "=", "dead")],
                ["validator_id"],
                ["__count"],
            )
        )
        for validator in self:
            validator.message_count = counts.get(validator, 0)
            validator.dead_message_count = dead.get(validator, 0)

    @api.constrains("queue_retry_schedule")
    def _check_queue_retry_schedule(self):
        for validator in self.filtered("queue_retry_schedule"):
            try:
                retry.parse_schedule(validator.queue_retry_schedule)
            except ValueError as exc:
                raise ValidationError(
                    self.env._(
                        "Validator %(name)s, retry schedule: %(error)s",
                        name=validator.name,
                        error=translated(self.env, exc),
                    )
                ) from exc

    @api.constrains("handshake", "signature_scheme")
    def _check_handshake(self):
        for validator in self:
            if validator.handshake in ("slack", "zoom") and (
                validator.signature_scheme != validator.handshake
            ):
                raise ValidationError(
                    self.env._(
                        "Validator %(name)s: the %(provider)s handshake is signed; "
                        "choose the %(provider)s signature scheme too.",
                        name=validator.name,
                        provider=validator.handshake.title(),
                    )
                )

    def action_view_messages(self):
        self.check_access("read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_gateway.action_integration_webhook_message"
        )
        action["domain"] = [("validator_id", "=", self.id)]
        action["context"] = {}
        return action
