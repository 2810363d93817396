from odoo import api, models


class ResUsers(models.Model):
    _inherit = "res.users"

    @api.model
    def _check_uid_passwd(self, uid, passwd):
        # Odoo caches successful checks: a key with a policy must be looked
        # at on every legacy call, before that cache answers.
        self.env["res.users.apikeys"]._integration_check_legacy_guard(uid, passwd)
        return super()._check_uid_passwd(uid, passwd)
