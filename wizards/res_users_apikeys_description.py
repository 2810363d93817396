from odoo import api, models


class ResUsersApikeysDescription(models.TransientModel):
    """Odoo's own key wizard, which keys without a policy go through: the
    default policy's maximum lifetime holds there too, administrators
    included."""

    _inherit = "res.users.apikeys.description"

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        Policy = self.env["integration.api.policy"].sudo()
        if default := Policy.browse(Policy._integration_default_policy_id()).exists():
            for wizard in wizards:
                default._integration_check_lifetime(wizard.expiration_date)
        return wizards
