from odoo.http import request, route

from odoo.addons.base_automation.controllers.main import BaseAutomationController
from odoo.addons.base_automation.models.base_automation import (
    get_webhook_request_payload,
)

from ..lib import webhook_validation as validation


class IncomingWebhookController(BaseAutomationController):
    """``/web/hook/<uuid>`` with the automation's validator, if it has one.

    Size and content type are already checked by ``ir.http._pre_dispatch``
    (before any body is read); here: find the validator → check the call →
    skip a message already processed → run the automation → answer.
    Automations without a validator are served by core, unchanged.
    """

    @route(integration_webhook=True)
    def call_webhook_http(self, rule_uuid, **kwargs):
        validators = request.env["integration.webhook.validator"].sudo()
        validator, settings = validators._webhook_lookup(rule_uuid)
        automation = validator and (
            request.env["base.automation"]
            .sudo()
            .search([("webhook_uuid", "=", rule_uuid)], limit=1)
        )
        if not automation:
            return super().call_webhook_http(rule_uuid, **kwargs)
        httprequest = request.httprequest
        call = validation.Call(
            mimetype=httprequest.mimetype,
            address=request.env["ir.http"]._integration_client_address(),
            headers=httprequest.headers,
            body=httprequest.get_data(),
        )
        limit_headers = []

        def rate_limit():
            limit_headers.extend(
                validator._webhook_check_rate_limit(settings, call.address)
            )

        try:
            accepted = settings.check_message(call, rate_limit=rate_limit)
        except validation.Rejection as rejection:
            return validator._webhook_reject(rule_uuid, rejection, body=call.body)

        if accepted.parsed:
            payload = accepted.payload
        elif settings.scheme == "none":
            payload = get_webhook_request_payload()
        else:
            # Odoo reads the query string of a body that is not JSON, which
            # no sender signs: a signed call gives only what was signed.
            payload = validation.signed_form_payload(call.mimetype, call.body)
        claim = None
        if accepted.message_id:
            messages = request.env["integration.webhook.message"].sudo()
            claim = messages._claim(
                automation.id, validator.id, accepted.message_id, settings.replay_window
            )
            if not claim:
                # The sender retries a message it could not see acknowledged:
                # acknowledge it again, without running the automation twice.
                return request.make_json_response(
                    {"status": "ok", "duplicate": True}, headers=limit_headers
                )
        try:
            automation._execute_webhook(payload)
        except Exception:  # noqa: BLE001 (core answers any failure with 500)
            if claim:
                messages._release(claim)
            return request.make_json_response(
                {"status": "error"}, status=500, headers=limit_headers
            )
        return request.make_json_response({"status": "ok"}, headers=limit_headers)
