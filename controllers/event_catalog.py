from odoo import fields
from odoo.http import Controller, request, route

from ..lib import asyncapi

MANAGER_GROUP = "integration_gateway.group_integration_manager"


class EventCatalogController(Controller):
    """The event catalog as an AsyncAPI 3.0 document, for receivers' tools.

    Integration Managers read it with their session (in a browser) or a key;
    anyone else needs a key whose policy allows the route (a rule allowing
    ``search_read`` on ``integration.webhook.event.type``), which
    ``ir.http`` checks before this runs: a partner's integration user can be
    given the catalog without managing anything.
    """

    @route(
        "/integration/asyncapi.json",
        type="http",
        auth="bearer",
        methods=["GET"],
        readonly=True,
    )
    def asyncapi_document(self):
        api_key = request.env["ir.http"]._integration_current_api_key()
        scoped = api_key is not None and api_key.policy_id is not None
        if not scoped and not request.env.user.has_group(MANAGER_GROUP):
            return request.make_json_response(
                {
                    "error": "forbidden",
                    "message": "The event catalog is for Integration Managers and "
                    "API keys whose policy allows it.",
                },
                status=403,
            )
        EventTypes = request.env["integration.webhook.event.type"].sudo()
        catalog = EventTypes._catalog()
        changed = EventTypes.search([], order="write_date desc", limit=1).write_date
        company = request.env.company.sudo()
        document = asyncapi.document(
            title=f"{company.name} webhooks",
            version=fields.Datetime.to_string(changed) if changed else "0",
            base_url=request.env["ir.config_parameter"].sudo().get_param("web.base.url")
            or request.httprequest.host_url,
            event_types=catalog,
            description="The events this Odoo database sends to webhook endpoints, "
            "signed per Standard Webhooks.",
        )
        return request.make_json_response(document)
