from odoo import api, models

DELIVERIES_ACTION = "integration_gateway.integration_webhook_delivery_action_record"


class IrActionsActions(models.Model):
    """Any record's Actions menu offers its webhook deliveries once
    deliveries were queued for records of its model, to Integration
    Managers: "did this order reach the warehouse?" is answered from the
    order."""

    _inherit = "ir.actions.actions"

    @api.model
    def get_bindings(self, model_name):
        result = super().get_bindings(model_name)
        if not self.env.user.has_group("integration_gateway.group_integration_manager"):
            return result
        Delivery = self.env["integration.webhook.delivery"].sudo()
        if not Delivery.search_count([("res_model", "=", model_name)], limit=1):
            return result
        action = self.env.ref(DELIVERIES_ACTION, raise_if_not_found=False)
        if not action:
            return result
        binding = action.sudo().read(["name", "binding_view_types", "domain"])[0]
        result = dict(result)
        result["action"] = (*result.get("action", ()), binding)
        return result
