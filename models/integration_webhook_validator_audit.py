"""The audit trail of incoming webhook validators: a ``mail.thread`` whose
settings are tracked. Secrets are tracked too, but only as "set",
"changed" or "removed": their value never reaches a message."""

import logging

from markupsafe import Markup

from odoo import fields, models

_logger = logging.getLogger(__name__)

# The fields whose value is a secret: tracked as changed, never shown.
SECRET_FIELDS = ("secret", "secondary_secret")


class IntegrationWebhookValidator(models.Model):
    _name = "integration.webhook.validator"
    _inherit = ("integration.webhook.validator", "mail.thread")

    name = fields.Char(tracking=True)
    signature_scheme = fields.Selection(tracking=True)
    timestamp_tolerance = fields.Integer(tracking=True)
    signature_header = fields.Char(tracking=True)
    signature_algorithm = fields.Selection(tracking=True)
    signature_encoding = fields.Selection(tracking=True)
    signature_prefix = fields.Char(tracking=True)
    message_id_header = fields.Char(tracking=True)
    replay_protection = fields.Boolean(tracking=True)
    replay_window = fields.Integer(tracking=True)
    json_schema = fields.Text(tracking=True)
    max_body_bytes = fields.Integer(tracking=True)
    allowed_content_types = fields.Char(tracking=True)
    allowed_networks = fields.Text(tracking=True)
    rate_limit = fields.Char(tracking=True)

    def write(self, vals):
        changed = [name for name in SECRET_FIELDS if name in vals]
        before = {}
        if changed:
            before = {
                validator.id: {name: validator[name] for name in changed}
                for validator in self.sudo()
            }
        result = super().write(vals)
        for validator in self.sudo() if changed else ():
            validator._integration_post_secret_changes(before[validator.id])
        return result

    def _integration_post_secret_changes(self, old):
        """Posts which of the secrets in ``old`` (name -> value before the
        write) were set, changed or removed, without any value, and logs it."""
        self.ensure_one()
        lines = []
        for name, previous in old.items():
            current = self[name]
            if (previous or False) == (current or False):
                continue
            label = self._fields[name]._description_string(self.env)
            if not previous:
                what = self.env._("set")
            elif not current:
                what = self.env._("removed")
            else:
                what = self.env._("changed")
            lines.append(Markup("<li>%s: %s</li>") % (label, what))
            _logger.info(
                "Validator %r: %s %s by %s", self.name, name, what, self.env.user.login
            )
        if lines:
            self.message_post(
                body=Markup("<ul>%s</ul>") % Markup("").join(lines),
                message_type="notification",
                subtype_xmlid="mail.mt_note",
                author_id=self.env.user.partner_id.id,
            )
