from odoo import api, fields, models

from ..lib.outbox import breaker


class IntegrationWebhookEndpoint(models.Model):
    """The delivery engine's settings and state of an endpoint: the order of
    its deliveries, its circuit breaker and its adaptive pace (see
    :mod:`lib.outbox.breaker`, :mod:`lib.outbox.pacing`)."""

    _inherit = "integration.webhook.endpoint"

    ordering = fields.Selection(
        [("none", "None (parallel)"), ("per_record", "Per record")],
        default="none",
        required=True,
        tracking=True,
        help="Per record: a delivery about a record is not sent while an older "
        "delivery about the same record to this endpoint is still waiting, being "
        "sent or retried, so that the receiver gets a record's changes in the "
        "order they happened. A dead or cancelled older delivery lets the next one "
        "go. None: deliveries go out in parallel, as they fall due.",
    )
    circuit_state = fields.Selection(
        breaker.STATES,
        string="Circuit",
        default=breaker.CLOSED,
        required=True,
        readonly=True,
        copy=False,
        help="Open: the receiver failed several times in a row (no answer, 5xx or "
        "429); its deliveries wait, without spending their retries, and one probe "
        "delivery is sent at the next probe time. Half-open: the probe is on its "
        "way. Its success closes the circuit and the waiting deliveries go out.",
    )
    circuit_opened_at = fields.Datetime(
        string="Circuit Opened", readonly=True, copy=False
    )
    circuit_next_probe_at = fields.Datetime(
        string="Next Probe", readonly=True, copy=False
    )
    # Failures in a row that count for the breaker, and probes failed since
    # the circuit opened (the cool-down doubles with each).
    circuit_failures = fields.Integer(readonly=True, copy=False)
    circuit_trips = fields.Integer(readonly=True, copy=False)
    # Adaptive pace (requests per second, 0: none) after 429/503 answers,
    # shared by every dispatcher through this row, and when it was last cut
    # (Unix time).
    pace_rate = fields.Float(
        string="Adaptive Rate (per second)", readonly=True, copy=False
    )
    pace_cut_at = fields.Float(readonly=True, copy=False)

    @api.model
    def _circuit_threshold(self):
        """Failures in a row that open an endpoint's circuit (the system
        parameter ``breaker.THRESHOLD_PARAM``)."""
        value = (
            self.env["ir.config_parameter"].sudo().get_param(breaker.THRESHOLD_PARAM)
        )
        return breaker.parse_threshold(value)

    def _circuit(self):
        """This endpoint's :class:`lib.outbox.breaker.Circuit`."""
        self.ensure_one()
        return breaker.Circuit(
            state=self.circuit_state,
            failures=self.circuit_failures,
            trips=self.circuit_trips,
            opened_at=self.circuit_opened_at or None,
            next_probe_at=self.circuit_next_probe_at or None,
        )

    def action_close_circuit(self):
        """Closes the circuit by hand: the waiting deliveries go out now."""
        self.check_access("write")
        self.sudo().write(
            {
                "circuit_state": breaker.CLOSED,
                "circuit_failures": 0,
                "circuit_trips": 0,
                "circuit_opened_at": False,
                "circuit_next_probe_at": False,
            }
        )
        self._resume_deliveries()
        return True
