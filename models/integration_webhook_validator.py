from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, ValidationError

from ..lib import (
    networks,
    ratelimit,
    standard_webhooks,
    validator_changes,
    webhook_settings,
)
from ..lib import webhook_signatures as signatures
from ..lib import webhook_validation as validation
from .constraints import check_parsed, translated

DEFAULT_CONTENT_TYPES = "application/json"


class IntegrationWebhookValidator(models.Model):
    """What an "On webhook" automation checks before it runs.

    Chosen on automations (``base.automation.webhook_validator_id``) and
    shared between them. The checks themselves live in
    ``lib.webhook_validation``; this model holds their configuration and
    caches it compiled per validator (``lib.webhook_settings``). The request
    is adapted to them by ``models/webhook_request.py`` and the controller.
    """

    _name = "integration.webhook.validator"
    _description = "Incoming Webhook Validator"
    _order = "name, id"

    name = fields.Char(required=True)
    signature_scheme = fields.Selection(
        [
            ("none", "None"),
            ("standard_webhooks", "Standard Webhooks"),
            ("stripe", "Stripe"),
            ("github", "GitHub"),
            ("shopify", "Shopify"),
            ("custom_hmac", "Custom HMAC"),
        ],
        required=True,
        default="standard_webhooks",
        help="How the sender signs its calls. Standard Webhooks: webhook-id, "
        "webhook-timestamp and webhook-signature headers. Stripe: "
        "Stripe-Signature. GitHub: X-Hub-Signature-256. Shopify: "
        "X-Shopify-Hmac-Sha256. Custom HMAC: a header you name.",
    )
    secret = fields.Char(
        groups="base.group_system",
        copy=False,
        help="The signing secret the sender gave you. Standard Webhooks secrets "
        "start with whsec_ followed by base64, or are the sender's Ed25519 public "
        "key (whpk_...) to verify v1a signatures; Stripe's whsec_ secrets are used "
        "as given.",
    )
    secondary_secret = fields.Char(
        groups="base.group_system",
        copy=False,
        help="A second secret accepted as well, while the sender rotates its "
        "secret. Clear it once the sender only uses the new one.",
    )
    has_secret = fields.Boolean(compute="_compute_has_secret", compute_sudo=True)
    timestamp_tolerance = fields.Integer(
        string="Timestamp Tolerance (s)",
        default=signatures.DEFAULT_TOLERANCE,
        help="How far the signed time of a call may be from now, either way, "
        "for schemes that sign a time (Standard Webhooks, Stripe).",
    )
    signature_header = fields.Char(
        help="Custom HMAC: the header that carries the signature."
    )
    signature_algorithm = fields.Selection(
        [("sha256", "SHA-256"), ("sha512", "SHA-512"), ("sha1", "SHA-1")],
        default="sha256",
        help="Custom HMAC: the hash function of the HMAC.",
    )
    signature_encoding = fields.Selection(
        [("hex", "Hexadecimal"), ("base64", "Base64")],
        default="hex",
        help="Custom HMAC: how the signature is written.",
    )
    signature_prefix = fields.Char(
        help="Custom HMAC: text before the signature in its header, e.g. sha256="
    )
    message_id_header = fields.Char(
        help="Custom HMAC or no signature: the header that carries the sender's "
        "id of a message, for replay protection.",
    )
    replay_protection = fields.Boolean(
        default=True,
        help="Remember the id of every message whose automation succeeded; a "
        "call carrying an id already processed within the replay window is "
        "acknowledged (200) without running the automation again. A message "
        "whose automation failed runs again when the sender retries it.",
    )
    replay_window = fields.Integer(
        string="Replay Window (hours)",
        default=webhook_settings.DEFAULT_REPLAY_WINDOW_HOURS,
        help="How long a processed message id is remembered.",
    )
    json_schema = fields.Text(
        string="JSON Schema",
        help="A JSON Schema (Draft 2020-12) the body must match; calls that do "
        "not are refused with 422 and the JSON pointers of the errors. Setting "
        "one requires a JSON body whatever the content type.",
    )
    max_body_bytes = fields.Integer(
        string="Maximum Body Size (bytes)",
        default=validation.DEFAULT_MAX_BODY_BYTES,
        help="Larger calls are refused with 413 before their body is read.",
    )
    allowed_content_types = fields.Char(
        default=DEFAULT_CONTENT_TYPES,
        help="Media types accepted, separated by commas; * is a wildcard, e.g. "
        "application/*+json. Empty: any. Other types are refused with 415.",
    )
    allowed_networks = fields.Text(
        help="Addresses or CIDR networks calls may come from, separated by "
        "commas or new lines. Empty: any. Others are refused with 403.",
    )
    rate_limit = fields.Char(
        help="Calls accepted per client address, e.g. 100/minute; 5000/hour. "
        "Counted per validator and address, so that forged calls from elsewhere "
        "cannot spend a sender's quota. Empty: no limit. Calls over it are "
        "refused with 429 and Retry-After.",
    )
    automation_ids = fields.One2many(
        "base.automation",
        "webhook_validator_id",
        string="Automations",
        groups="base.group_system",
    )
    automation_count = fields.Integer(
        compute="_compute_automation_count", compute_sudo=True
    )
    rejection_count = fields.Integer(compute="_compute_rejection_count")

    _max_body_bytes_positive = models.Constraint(
        "CHECK (max_body_bytes > 0)", "The maximum body size must be positive."
    )
    _timestamp_tolerance_positive = models.Constraint(
        "CHECK (timestamp_tolerance > 0)", "The timestamp tolerance must be positive."
    )
    _replay_window_positive = models.Constraint(
        "CHECK (replay_window > 0)", "The replay window must be positive."
    )

    @api.depends("secret", "secondary_secret")
    def _compute_has_secret(self):
        for validator in self:
            validator.has_secret = bool(validator.secret)

    @api.depends("automation_ids")
    def _compute_automation_count(self):
        counts = dict(
            self.env["base.automation"]
            .with_context(active_test=False)
            ._read_group(
                [("webhook_validator_id", "in", self.ids)],
                ["webhook_validator_id"],
                ["__count"],
            )
        )
        for validator in self:
            validator.automation_count = counts.get(validator, 0)

    def _compute_rejection_count(self):
        # Refused calls, repeated ones being counted on one record.
        counts = dict(
            self.env["integration.webhook.rejection"]._read_group(
                [("validator_ref", "in", self.ids)], ["validator_ref"], ["count:sum"]
            )
        )
        for validator in self:
            validator.rejection_count = counts.get(validator.id, 0)

    @api.constrains("json_schema")
    def _check_json_schema(self):
        check_parsed(
            self.filtered("json_schema"),
            "json_schema",
            validation.compile_schema,
            self.env._("Validator %(name)s: %(error)s"),
        )

    @api.constrains("allowed_networks")
    def _check_allowed_networks(self):
        check_parsed(
            self,
            "allowed_networks",
            networks.parse_networks,
            self.env._("Validator %(name)s, allowed networks: %(error)s"),
        )

    @api.constrains("allowed_content_types")
    def _check_allowed_content_types(self):
        check_parsed(
            self,
            "allowed_content_types",
            validation.parse_content_types,
            self.env._("Validator %(name)s, allowed content types: %(error)s"),
        )

    @api.constrains("rate_limit")
    def _check_rate_limit(self):
        check_parsed(
            self,
            "rate_limit",
            ratelimit.parse_limits,
            self.env._("Validator %(name)s, rate limit: %(error)s"),
        )

    @api.constrains(
        "signature_scheme",
        "signature_header",
        "signature_algorithm",
        "signature_encoding",
        "signature_prefix",
    )
    def _check_custom_hmac(self):
        for validator in self.filtered(lambda v: v.signature_scheme == "custom_hmac"):
            if not (validator.signature_header or "").strip():
                raise ValidationError(
                    self.env._(
                        "Validator %(name)s: a custom HMAC needs the name of the "
                        "header that carries the signature.",
                        name=validator.name,
                    )
                )

    @api.constrains("signature_scheme", "replay_protection", "message_id_header")
    def _check_message_id_header(self):
        for validator in self.filtered("replay_protection"):
            if signatures.message_id_source(
                validator.signature_scheme, validator.message_id_header
            ):
                continue
            raise ValidationError(
                self.env._(
                    "Validator %(name)s: replay protection needs the name of the "
                    "header that carries the sender's message id.",
                    name=validator.name,
                )
            )

    @api.constrains("signature_scheme", "secret", "secondary_secret")
    def _check_secrets(self):
        for validator in self.sudo().filtered(
            lambda v: v.signature_scheme == "standard_webhooks"
        ):
            for secret in (validator.secret, validator.secondary_secret):
                if not secret:
                    continue
                try:
                    standard_webhooks.check_verifying_key(secret)
                except ValueError as exc:
                    raise ValidationError(
                        self.env._(
                            "Validator %(name)s: a Standard Webhooks secret is "
                            "whsec_ followed by base64, or an Ed25519 public key, "
                            "whpk_ followed by base64 (%(error)s).",
                            name=validator.name,
                            error=translated(self.env, exc),
                        )
                    ) from exc

    @api.model_create_multi
    def create(self, vals_list):
        validators = super().create(vals_list)
        self.env.registry.clear_cache()
        return validators

    def write(self, vals):
        if not self.env.is_system() and validator_changes.GUARDED_FIELDS & vals.keys():
            self._check_not_weakened(vals)
        result = super().write(vals)
        self.env.registry.clear_cache()
        return result

    def _check_not_weakened(self, vals):
        """Refuses ``vals`` when they make a validator that guards an
        automation accept more than it does (see ``lib.validator_changes``):
        that automation runs as superuser, so only a system administrator may
        open it wider. Tightening is left to integration managers."""
        # As the caller first: those who may not write learn nothing here.
        self.check_access("write")
        in_use = self.filtered(lambda v: v.automation_count)
        names = sorted(validator_changes.GUARDED_FIELDS & vals.keys())
        for validator in in_use.sudo():
            old = {name: validator[name] for name in names}
            if weakened := validator_changes.weakened(old, vals):
                labels = ", ".join(
                    self._fields[name]._description_string(self.env)
                    for name in weakened
                )
                raise AccessError(
                    self.env._(
                        "Validator %(name)s guards %(count)s automation(s): only a "
                        "system administrator can loosen its %(fields)s.",
                        name=validator.name,
                        count=validator.automation_count,
                        fields=labels,
                    )
                )

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result

    def action_view_automations(self):
        self.check_access("read")
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Automations"),
            "res_model": "base.automation",
            "view_mode": "list,form",
            "domain": [("webhook_validator_id", "=", self.id)],
            "context": {"active_test": False},
        }

    def action_view_rejections(self):
        self.check_access("read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_gateway.action_integration_webhook_rejection"
        )
        action["domain"] = [("validator_ref", "=", self.id)]
        action["context"] = {}
        return action

    # Configuration, compiled once -----------------------------------------------

    @api.model
    @tools.ormcache()
    def _webhook_validated_uuids(self):
        """Maps the webhook UUID of every active automation that has a
        validator to ``(validator id, automation id)``. Kept whole, so that
        calls to unknown URLs cannot fill the cache."""
        automations = (
            self.env["base.automation"]
            .sudo()
            .search([("webhook_validator_id", "!=", False)])
        )
        return {
            automation.webhook_uuid: (automation.webhook_validator_id.id, automation.id)
            for automation in automations
            if automation.webhook_uuid
        }

    @api.model
    @tools.ormcache("validator_id")
    def _webhook_settings_of(self, validator_id):
        """The validator's configuration as ``lib.webhook_validation.Settings``."""
        return self.sudo().browse(validator_id)._webhook_settings()

    def _webhook_settings(self):
        self.ensure_one()
        return webhook_settings.compile_settings(
            {name: self[name] for name in webhook_settings.FIELDS}
        )

    @api.model
    def _webhook_resolve(self, webhook_uuid):
        """The ``lib.webhook_settings.Incoming`` of a call to
        ``/web/hook/<webhook_uuid>``, or None when that automation has no
        validator (see ``models/webhook_request.py``, which keeps it on the
        request)."""
        found = self._webhook_validated_uuids().get(webhook_uuid)
        if not found:
            return None
        validator_id, automation_id = found
        return webhook_settings.Incoming(
            webhook_uuid=webhook_uuid,
            validator_id=validator_id,
            automation_id=automation_id,
            settings=self._webhook_settings_of(validator_id),
        )

    @api.model
    def _webhook_lookup(self, webhook_uuid):
        """The validator of the automation at ``/web/hook/<webhook_uuid>`` and
        its settings, or ``(None, None)`` when that automation has none."""
        incoming = self._webhook_resolve(webhook_uuid)
        if incoming is None:
            return None, None
        return self.browse(incoming.validator_id), incoming.settings
