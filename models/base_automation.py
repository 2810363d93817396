from odoo import api, fields, models


class BaseAutomation(models.Model):
    _inherit = "base.automation"

    webhook_validator_id = fields.Many2one(
        "integration.webhook.validator",
        ondelete="restrict",
        index="btree_not_null",
        help="Checks every call of this webhook (signature, timestamp, replays, "
        "schema, size, content type, source network, rate limit) before the "
        "automation runs. Without one, anyone who knows the URL can trigger it.",
    )

    # Fields that change which validator answers for which webhook URL.
    _WEBHOOK_VALIDATOR_FIELDS = frozenset(
        {"webhook_validator_id", "webhook_uuid", "active"}
    )

    @api.model_create_multi
    def create(self, vals_list):
        automations = super().create(vals_list)
        if automations.filtered("webhook_validator_id"):
            self.env.registry.clear_cache()
        return automations

    def write(self, vals):
        result = super().write(vals)
        if self._WEBHOOK_VALIDATOR_FIELDS.intersection(vals):
            self.env.registry.clear_cache()
        return result

    def unlink(self):
        validated = bool(self.filtered("webhook_validator_id"))
        result = super().unlink()
        if validated:
            self.env.registry.clear_cache()
        return result
