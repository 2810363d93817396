from odoo.http import request, route

from odoo.addons.base_automation.controllers.main import BaseAutomationController
from odoo.addons.base_automation.models.base_automation import (
    get_webhook_request_payload,
)

from ..lib import webhook_settings
from ..lib import webhook_validation as validation
from ..models import webhook_request


class IncomingWebhookController(BaseAutomationController):
    """``/web/hook/<uuid>`` with the automation's validator, if it has one.

    A pipeline over the request: find (the call resolved once, by
    ``ir.http._pre_dispatch``, which also checked its size and content type
    before any body was read) → validate (a provider's handshake is
    answered here) → handle (skip a message already processed; run the
    automation, or store the message for the incoming queue) → result.
    Automations without a validator are served by core, unchanged.
    """

    @route(integration_webhook=True)
    def call_webhook_http(self, rule_uuid, **kwargs):
        incoming = webhook_request.resolve(request, rule_uuid)
        if incoming is None:
            return super().call_webhook_http(rule_uuid, **kwargs)
        return self._handle_incoming_webhook(request, incoming)

    def _handle_incoming_webhook(self, request, incoming):
        """Validates the call ``incoming`` (a ``lib.webhook_settings.Incoming``)
        of ``request``, runs its automation and returns the answer."""
        httprequest = request.httprequest
        if webhook_request.is_meta_verification(request, incoming):
            return webhook_request.meta_verification(request, incoming)
        call = validation.Call(
            mimetype=httprequest.mimetype,
            address=request.env["ir.http"]._integration_client_address(),
            headers=httprequest.headers,
            body=httprequest.get_data(),
            # Rebuilt by Odoo from X-Forwarded-Host/-Proto under proxy_mode only.
            url=httprequest.url,
        )
        limit_headers = []

        def rate_limit():
            limit_headers.extend(
                webhook_request.rate_limit(request, incoming, call.address)
            )

        try:
            accepted = incoming.settings.check_message(call, rate_limit=rate_limit)
        except validation.Rejection as rejection:
            return webhook_request.reject(request, incoming, rejection, body=call.body)
        if accepted.handshake is not None:
            return request.make_json_response(accepted.handshake, headers=limit_headers)
        payload = self._incoming_webhook_payload(incoming.settings, call, accepted)
        headers = webhook_request.automation_headers(request, incoming)
        if incoming.settings.queued:
            status, body = self._queue_incoming_webhook(
                request, incoming, accepted, payload, headers, call.address
            )
        else:
            status, body = self._run_incoming_webhook(
                request, incoming, accepted, payload, headers
            )
        return request.make_json_response(body, status=status, headers=limit_headers)

    def _incoming_webhook_payload(self, settings, call, accepted):
        """What the automation receives of an accepted call."""
        if accepted.parsed:
            return accepted.payload
        if settings.scheme == "none":
            return get_webhook_request_payload()
        # Odoo reads the query string of a body that is not JSON, which no
        # sender signs: a signed call gives only what was signed.
        return validation.signed_form_payload(call.mimetype, call.body)

    def _queue_incoming_webhook(
        self, request, incoming, accepted, payload, headers, address
    ):
        """Stores the message for the incoming queue, once per message id;
        returns the answer's status and JSON body."""
        messages = request.env(su=True)["integration.webhook.message"]
        queued_id = messages._enqueue(
            incoming, accepted, payload, headers=headers, remote_addr=address
        )
        if queued_id is None:
            return 200, {"status": "ok", "duplicate": True}
        return 202, {"status": "queued", "id": queued_id}

    def _run_incoming_webhook(self, request, incoming, accepted, payload, headers):
        """Runs the automation once per message id; returns the answer's
        status and JSON body."""
        env = request.env(su=True)
        env["integration.metrics"]._count_accepted(incoming)
        claim = None
        messages = env["integration.webhook.message"]
        if accepted.message_id:
            claim = messages._claim(
                incoming.automation_id,
                incoming.validator_id,
                accepted.message_id,
                incoming.settings.replay_window,
            )
            if not claim:
                # The sender retries a message it could not see acknowledged:
                # acknowledge it again, without running the automation twice.
                return 200, {"status": "ok", "duplicate": True}
            # The deliveries the automation queues link back to the message.
            request.integration_webhook_claim = claim
        automation = (
            env["base.automation"]
            .browse(incoming.automation_id)
            .with_context(
                **{
                    webhook_settings.HEADERS_CONTEXT_KEY: headers,
                    webhook_settings.PAYLOAD_CONTEXT_KEY: payload,
                }
            )
        )
        try:
            automation._execute_webhook(payload)
        except Exception:  # noqa: BLE001 (core answers any failure with 500)
            if claim:
                messages._release(claim)
            return 500, {"status": "error"}
        return 200, {"status": "ok"}
