from odoo import models

from ..lib.webhook_settings import PAYLOAD_CONTEXT_KEY as PAYLOAD_KEY


class IrActionsServer(models.Model):
    """Code actions of a validated webhook read the payload its validator
    accepted, whether the automation runs during the call or later from the
    incoming queue.

    Core reads ``payload`` from the current request, which the incoming
    queue has none of, and which for a signed form body would give more
    than was signed; the controller and the queue put the accepted payload
    in the context under ``PAYLOAD_KEY`` instead (and the call's headers,
    without credentials, under ``webhook_headers``).
    """

    _inherit = "ir.actions.server"

    def _get_eval_context(self, action=None):
        eval_context = super()._get_eval_context(action)
        if action and action.state == "code" and PAYLOAD_KEY in self.env.context:
            eval_context["payload"] = self.env.context[PAYLOAD_KEY]
        return eval_context
