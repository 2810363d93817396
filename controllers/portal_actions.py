"""What an integration partner does to its endpoints and deliveries on the
portal: rotate the secret, disable or enable, delete, send a test event,
replay failed deliveries, list deliveries with filters, open a delivery
and its attempts, retry one. Test events, retries and replays are limited
per user (``lib/portal.py``), by the models, whichever way they are asked.
"""

import json

from werkzeug.exceptions import NotFound, TooManyRequests

from odoo import fields
from odoo.http import request, route

from odoo.addons.portal.controllers.portal import pager as portal_pager

from .portal import DELIVERIES_PER_PAGE, FORM_ERRORS, IntegrationPortal


class IntegrationPortalActions(IntegrationPortal):
    def _integration_too_many(self, endpoint, refused):
        """The endpoint's page saying that the user's limit is reached: 429
        with Retry-After."""
        response = self._integration_render_endpoint(
            endpoint, error=refused.description
        )
        response.status_code = 429
        response.headers["Retry-After"] = str(refused.retry_after)
        return response

    def _integration_act(self, endpoint, done, action):
        """Runs ``action``, then back to the endpoint's page saying ``done``
        or what went wrong."""
        try:
            with request.env.cr.savepoint():
                result = action()
        except FORM_ERRORS as error:
            self._integration_flash(str(error), "danger")
            return request.redirect(f"/my/integrations/endpoints/{endpoint.id}")
        except TooManyRequests as refused:
            return self._integration_too_many(endpoint, refused)
        if isinstance(result, str):
            return request.redirect(result)
        self._integration_flash(done)
        return request.redirect(f"/my/integrations/endpoints/{endpoint.id}")

    @route(
        "/my/integrations/endpoints/<int:endpoint_id>/rotate",
        type="http",
        auth="user",
        website=True,
        methods=["POST"],
    )
    def integration_endpoint_rotate(self, endpoint_id, **kw):
        endpoint = self._integration_endpoint(endpoint_id)
        hours = endpoint.secret_grace_hours
        return self._integration_act(
            endpoint,
            request.env._(
                "Secret rotated. The previous one keeps signing for %(hours)s hours.",
                hours=hours,
            ),
            endpoint._portal_rotate_secret,
        )

    @route(
        "/my/integrations/endpoints/<int:endpoint_id>/active",
        type="http",
        auth="user",
        website=True,
        methods=["POST"],
    )
    def integration_endpoint_active(self, endpoint_id, active="0", **kw):
        endpoint = self._integration_endpoint(endpoint_id)
        enable = active == "1"
        done = (
            request.env._("Endpoint enabled.")
            if enable
            else request.env._(
                "Endpoint disabled: its events wait until it is enabled."
            )
        )
        return self._integration_act(
            endpoint, done, lambda: endpoint._portal_set_active(enable)
        )

    @route(
        "/my/integrations/endpoints/<int:endpoint_id>/delete",
        type="http",
        auth="user",
        website=True,
        methods=["POST"],
    )
    def integration_endpoint_delete(self, endpoint_id, **kw):
        endpoint = self._integration_endpoint(endpoint_id)

        def delete():
            endpoint.unlink()
            self._integration_flash(request.env._("Endpoint deleted."))
            return "/my/integrations"

        return self._integration_act(endpoint, "", delete)

    @route(
        "/my/integrations/endpoints/<int:endpoint_id>/test",
        type="http",
        auth="user",
        website=True,
        methods=["POST"],
    )
    def integration_endpoint_test(self, endpoint_id, event_type_id=None, **kw):
        endpoint = self._integration_endpoint(endpoint_id)
        event_type = request.env["integration.webhook.event.type"]
        if event_type_id and event_type_id.isdigit():
            event_type = self._integration_partner()._integration_portal_event_types()
            event_type = event_type.filtered(lambda t: t.id == int(event_type_id))
            if not event_type:
                raise NotFound()

        def send():
            delivery = endpoint._portal_send_test_event(event_type)
            self._integration_flash(
                request.env._("Test event sent: see its attempt below."),
                "success" if delivery.state == "delivered" else "warning",
            )
            return f"/my/integrations/deliveries/{delivery.id}"

        return self._integration_act(endpoint, "", send)

    @route(
        "/my/integrations/endpoints/<int:endpoint_id>/replay",
        type="http",
        auth="user",
        website=True,
        methods=["POST"],
    )
    def integration_endpoint_replay(self, endpoint_id, since=None, **kw):
        endpoint = self._integration_endpoint(endpoint_id)
        try:
            since = fields.Datetime.to_datetime(since)
        except ValueError:
            since = None
        if not since:
            self._integration_flash(
                request.env._("Choose a date to replay from."), "danger"
            )
            return request.redirect(f"/my/integrations/endpoints/{endpoint.id}")
        counted = []

        def replay():
            counted.append(endpoint._portal_replay_since(since))

        response = self._integration_act(endpoint, "", replay)
        if counted:
            self._integration_flash(
                request.env._("%(count)s deliveries queued again.", count=counted[0])
            )
        return response

    # -- deliveries ------------------------------------------------------

    @route(
        [
            "/my/integrations/endpoints/<int:endpoint_id>/deliveries",
            "/my/integrations/endpoints/<int:endpoint_id>/deliveries/page/<int:page>",
        ],
        type="http",
        auth="user",
        website=True,
    )
    def integration_deliveries(
        self, endpoint_id, page=1, state=None, event_type_id=None, since=None, **kw
    ):
        endpoint = self._integration_endpoint(endpoint_id)
        Delivery = request.env["integration.webhook.delivery"]
        states = self._integration_states()
        state = state if state in states else None
        event_type_id = int(event_type_id) if (event_type_id or "").isdigit() else None
        try:
            since_date = fields.Date.to_date(since) if since else None
        except ValueError:
            since_date = None
        domain = Delivery._portal_domain(endpoint, state, event_type_id, since_date)
        total = Delivery.search_count(domain)
        url_args = {
            "state": state or "",
            "event_type_id": event_type_id or "",
            "since": since_date and fields.Date.to_string(since_date) or "",
        }
        pager = portal_pager(
            url=f"/my/integrations/endpoints/{endpoint.id}/deliveries",
            url_args=url_args,
            total=total,
            page=int(page) if str(page).isdigit() else 1,
            step=DELIVERIES_PER_PAGE,
        )
        deliveries = Delivery.search(
            domain, limit=DELIVERIES_PER_PAGE, offset=pager["offset"]
        )
        return request.render(
            "integration_gateway.portal_my_integration_deliveries",
            self._integration_values(
                "integration_deliveries",
                endpoint=endpoint.sudo(),
                deliveries=deliveries.sudo(),
                pager=pager,
                states=states,
                filters=url_args,
                event_types=endpoint.sudo().event_type_ids
                | deliveries.sudo().event_type_id,
            ),
        )

    @route(
        "/my/integrations/deliveries/<int:delivery_id>",
        type="http",
        auth="user",
        website=True,
    )
    def integration_delivery(self, delivery_id, **kw):
        self._integration_require()
        delivery = self._integration_record("integration.webhook.delivery", delivery_id)
        try:
            payload = json.dumps(json.loads(delivery.payload), indent=2, sort_keys=True)
        except ValueError:
            payload = delivery.payload
        return request.render(
            "integration_gateway.portal_my_integration_delivery",
            self._integration_values(
                "integration_delivery",
                delivery=delivery.sudo(),
                endpoint=delivery.endpoint_id.sudo(),
                payload=payload,
                attempts=delivery.attempt_ids.sudo(),
                states=self._integration_states(),
            ),
        )

    @route(
        "/my/integrations/deliveries/<int:delivery_id>/retry",
        type="http",
        auth="user",
        website=True,
        methods=["POST"],
    )
    def integration_delivery_retry(self, delivery_id, **kw):
        self._integration_require()
        delivery = self._integration_record("integration.webhook.delivery", delivery_id)
        try:
            with request.env.cr.savepoint():
                delivery._portal_retry()
        except TooManyRequests as refused:
            return self._integration_too_many(delivery.endpoint_id, refused)
        except FORM_ERRORS as error:
            self._integration_flash(str(error), "danger")
        else:
            self._integration_flash(
                request.env._("The delivery is queued: it goes out in a moment.")
            )
        return request.redirect(f"/my/integrations/deliveries/{delivery.id}")
