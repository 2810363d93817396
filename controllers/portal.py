"""The integration partner's pages on Odoo's portal: ``/my/integrations``.

Every page is a short pipeline: find the partner's permissions and the
record (someone else's id, or a page the partner may not use, answers 404
so that ids do not leak), read and validate the form, act through the
models as the portal user (record rules and the model's portal checks
apply, see ``models/integration_webhook_endpoint_portal.py``), render or
redirect. Every form is a POST with Odoo's CSRF token.
"""

import time

from werkzeug.exceptions import NotFound

from odoo import fields
from odoo.exceptions import AccessDenied, AccessError, UserError, ValidationError
from odoo.http import request, route

from odoo.addons.portal.controllers.portal import CustomerPortal

# How long a password check lets a portal user see secrets and issue keys,
# as core's check_identity.
IDENTITY_CHECK_SECONDS = 10 * 60
DELIVERIES_PER_PAGE = 20
MESSAGE_KEY = "integration_portal_message"
# Errors a portal form shows to the user, with the form again.
FORM_ERRORS = (AccessError, UserError, ValidationError)


class IntegrationPortal(CustomerPortal):
    # -- helpers ---------------------------------------------------------

    def _integration_partner(self):
        return request.env["res.partner"]._integration_portal_partner()

    def _integration_require(self, endpoints=True):
        """The user's company, when it may manage endpoints (``endpoints``)
        or see keys; else 404."""
        partner = self._integration_partner()
        allowed = (
            partner.integration_portal_endpoints
            if endpoints
            else partner.integration_portal_keys
            or partner.integration_portal_policy_ids
        )
        if not request.env.user.share or not allowed:
            raise NotFound()
        return partner

    def _integration_record(self, model, record_id):
        """The record ``record_id`` of ``model`` when the portal user may
        read it (record rules); 404 otherwise, whether it exists or not."""
        record = request.env[model].with_context(active_test=False).browse(record_id)
        try:
            if not record.exists():
                raise NotFound()
            record.check_access("read")
        except AccessError:
            raise NotFound() from None
        return record

    def _integration_endpoint(self, endpoint_id):
        self._integration_require()
        return self._integration_record("integration.webhook.endpoint", endpoint_id)

    def _integration_states(self):
        Delivery = request.env["integration.webhook.delivery"]
        return dict(Delivery._fields["state"]._description_selection(request.env))

    def _integration_flash(self, message, kind="success"):
        request.session[MESSAGE_KEY] = {"text": message, "kind": kind}

    def _integration_values(self, page_name, **values):
        values.update(self._prepare_portal_layout_values())
        values["page_name"] = page_name
        values["integration_message"] = request.session.pop(MESSAGE_KEY, None)
        values["integration_partner"] = self._integration_partner()
        return values

    def _integration_identity_checked(self, password):
        """Whether the user confirmed their password in the last minutes, or
        does now with ``password`` (as core's check_identity)."""
        now = time.time()
        if request.session.get("identity-check-last", 0) > now - IDENTITY_CHECK_SECONDS:
            return True
        if not password:
            return False
        limiter = request.env["integration.rate.limiter"]
        decision = limiter._hit(f"portal:identity:{request.env.uid}", "10/minute")
        if decision and not decision.allowed:
            raise limiter._too_many_requests(
                decision, limiter._exceeded_message(decision, subject="password checks")
            )
        credential = {
            "login": request.env.user.login,
            "password": password,
            "type": "password",
        }
        try:
            request.env["res.users"]._check_credentials(
                credential, {"interactive": True}
            )
        except AccessDenied:
            return False
        request.session["identity-check-last"] = now
        return True

    # -- home ------------------------------------------------------------

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        partner = self._integration_partner()
        access = request.env.user.share and (
            partner.integration_portal_endpoints
            or partner.integration_portal_keys
            or partner.integration_portal_policy_ids
        )
        if not counters:
            # The home page's own rendering (its counters come later, by
            # name: no other key may be answered then).
            values["integration_portal_access"] = bool(access)
        if "integration_count" in counters:
            values["integration_count"] = (
                request.env["integration.webhook.endpoint"]
                .with_context(active_test=False)
                .search_count([])
                if access
                else 0
            )
        return values

    # -- endpoints -------------------------------------------------------

    @route("/my/integrations", type="http", auth="user", website=True)
    def integration_home(self, **kw):
        partner = self._integration_partner()
        if partner.integration_portal_endpoints:
            self._integration_require()
        elif partner.integration_portal_keys or partner.integration_portal_policy_ids:
            return request.redirect("/my/integrations/keys")
        else:
            raise NotFound()
        endpoints = (
            request.env["integration.webhook.endpoint"]
            .with_context(active_test=False)
            .search([], order="active desc, name, id")
        )
        return request.render(
            "integration_gateway.portal_my_integrations",
            self._integration_values("integrations", endpoints=endpoints),
        )

    def _integration_form_values(self, form):
        """The endpoint values of a submitted form (the portal's fields only)."""
        return {
            "name": (form.get("name") or "").strip(),
            "url": (form.get("url") or "").strip(),
            "payload_format": form.get("payload_format") or "odoo",
            "event_type_ids": [
                int(value)
                for value in request.httprequest.form.getlist("event_type_ids")
                if value.isdigit()
            ],
        }

    def _integration_render_form(self, endpoint, values, error=None):
        partner = self._integration_partner()
        response = request.render(
            "integration_gateway.portal_my_integration_endpoint_form",
            self._integration_values(
                "integration_endpoint_form",
                endpoint=endpoint,
                form=values,
                error=error,
                event_types=partner._integration_portal_event_types(),
                payload_formats=request.env["integration.webhook.endpoint"]
                ._fields["payload_format"]
                ._description_selection(request.env),
            ),
        )
        if error:
            response.status_code = 422
        return response

    @route(
        "/my/integrations/endpoints/new",
        type="http",
        auth="user",
        website=True,
        methods=["GET", "POST"],
    )
    def integration_endpoint_new(self, **form):
        self._integration_require()
        Endpoint = request.env["integration.webhook.endpoint"]
        if request.httprequest.method == "GET":
            return self._integration_render_form(Endpoint, {"payload_format": "odoo"})
        values = self._integration_form_values(form)
        try:
            with request.env.cr.savepoint():
                endpoint = Endpoint.create(values)
        except FORM_ERRORS as error:
            return self._integration_render_form(Endpoint, values, error=str(error))
        self._integration_flash(request.env._("Endpoint created."))
        return request.redirect(f"/my/integrations/endpoints/{endpoint.id}")

    @route(
        "/my/integrations/endpoints/<int:endpoint_id>/edit",
        type="http",
        auth="user",
        website=True,
        methods=["GET", "POST"],
    )
    def integration_endpoint_edit(self, endpoint_id, **form):
        endpoint = self._integration_endpoint(endpoint_id)
        if request.httprequest.method == "GET":
            values = {
                "name": endpoint.name,
                "url": endpoint.url,
                "payload_format": endpoint.payload_format,
                "event_type_ids": endpoint.sudo().event_type_ids.ids,
            }
            return self._integration_render_form(endpoint, values)
        values = self._integration_form_values(form)
        try:
            with request.env.cr.savepoint():
                endpoint.write(values)
        except FORM_ERRORS as error:
            return self._integration_render_form(endpoint, values, error=str(error))
        self._integration_flash(request.env._("Endpoint saved."))
        return request.redirect(f"/my/integrations/endpoints/{endpoint.id}")

    @route(
        "/my/integrations/endpoints/<int:endpoint_id>",
        type="http",
        auth="user",
        website=True,
    )
    def integration_endpoint(self, endpoint_id, **kw):
        endpoint = self._integration_endpoint(endpoint_id)
        return self._integration_render_endpoint(endpoint)

    def _integration_render_endpoint(self, endpoint, secret=None, error=None):
        partner = self._integration_partner()
        recent = (
            request.env["integration.webhook.delivery"]
            .search([("endpoint_id", "=", endpoint.id)], limit=5)
            .sudo()
        )
        response = request.render(
            "integration_gateway.portal_my_integration_endpoint",
            self._integration_values(
                "integration_endpoint",
                endpoint=endpoint.sudo(),
                recent=recent,
                states=self._integration_states(),
                secret=secret,
                error=error,
                event_types=endpoint.sudo().event_type_ids
                & partner._integration_portal_event_types(),
                replay_since=fields.Date.to_string(fields.Date.today()),
            ),
        )
        response.headers["Cache-Control"] = "no-store"
        if error:
            response.status_code = 403
        return response

    @route(
        "/my/integrations/endpoints/<int:endpoint_id>/secret",
        type="http",
        auth="user",
        website=True,
        methods=["POST"],
    )
    def integration_endpoint_secret(self, endpoint_id, password=None, **kw):
        endpoint = self._integration_endpoint(endpoint_id)
        endpoint.check_access("write")
        if not self._integration_identity_checked(password):
            return self._integration_render_endpoint(
                endpoint,
                error=request.env._("Enter your password to see the signing secret."),
            )
        if endpoint.signature_algorithm == "ed25519":
            # The private key never leaves the database: the receiver needs
            # the public key, shown on the page to anyone who sees it.
            return self._integration_render_endpoint(endpoint)
        return self._integration_render_endpoint(
            endpoint, secret=endpoint.sudo().secret
        )
