from werkzeug.exceptions import Forbidden

from odoo.http import Controller, request, route

MANAGER_GROUP = "integration_gateway.group_integration_manager"


class MetricsController(Controller):
    """``GET /integration/metrics``: the addon's Prometheus metrics, read
    from PostgreSQL by ``integration.metrics`` (one truth whichever worker
    or server answers), in the text format 0.0.4, or OpenMetrics when the
    scraper's ``Accept`` asks for ``application/openmetrics-text``.

    A pipeline: authenticate (``ir.http``: the static token of
    ``integration_gateway.metrics_token``, or an API key whose policy allows
    ``read`` on the pseudo-model ``integration.metrics``, checked before this
    runs) → authorise → read → encode. A key without a policy, or a
    browser session, must be an Integration Manager's. No credentials: 401;
    credentials without the right: 403.
    """

    @route(
        "/integration/metrics",
        type="http",
        auth="bearer",
        methods=["GET"],
        readonly=True,
        save_session=False,
    )
    def metrics(self):
        self._check_allowed(request)
        Metrics = request.env["integration.metrics"].sudo()
        body, content_type = Metrics._render(request.httprequest.headers.get("Accept"))
        return request.make_response(
            body,
            headers=[("Content-Type", content_type), ("Cache-Control", "no-store")],
        )

    def _check_allowed(self, request):
        if getattr(request, "integration_metrics_token", False):
            return
        api_key = request.env["ir.http"]._integration_current_api_key()
        if api_key is not None and api_key.policy_id is not None:
            return  # its policy allowed integration.metrics.read (ir.http)
        if not request.env.user.has_group(MANAGER_GROUP):
            raise Forbidden(
                "The metrics are for Integration Managers, API keys whose policy "
                "allows read on integration.metrics, and the metrics token."
            )
