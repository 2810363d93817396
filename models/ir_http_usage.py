from odoo import models

from ..plumbing import settle


class IrHttp(models.AbstractModel):
    """The counters a request sent without waiting for them (an API key's
    usage, a validator's accepted calls: ``plumbing.send``) are confirmed
    before its response leaves, whether it succeeded or failed: what a
    client was answered is counted by then."""

    _inherit = "ir.http"

    @classmethod
    def _post_dispatch(cls, response):
        super()._post_dispatch(response)
        settle()

    @classmethod
    def _handle_error(cls, exception):
        response = super()._handle_error(exception)
        settle()
        return response
