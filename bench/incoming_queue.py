"""Queued against immediate processing of incoming webhooks: the latency
of the call the sender waits for.

Two "On webhook" automations do the web-shop chapter's work on each order
(find or create the customer, then one record per order line: ``--lines``,
default 50), one behind an immediate validator and one behind a queued one,
both checking a Standard Webhooks signature and replays. The same order
bodies are posted to each, in turn, one call at a time; the queued calls
are answered once the message is stored, and the cron workers run the
automation afterwards, while the calls go on. The figure of merit is the
queued call's median latency (goal: at most 20 ms), beside the immediate
one's; the time the crons took to drain the queue is reported too::

    ~/.cache/integration_gateway/venv/bin/python bench/incoming_queue.py

``--calls N`` (per automation, default 200).
"""

import json
import statistics
import sys
import time

import requests
from context import ADDON_DB, FIXTURES, Figure, Report, run_alone

DATABASES = [ADDON_DB]
GOAL_MS = 20.0  # median latency of a queued call, milliseconds
WARM_UP = 20  # calls per automation before measuring
DRAIN_TIMEOUT = 600  # seconds the crons get to run every queued message
SETUP = FIXTURES / "incoming_queue_setup.py"

QUICK = {"calls": 40, "lines": 10}


def add_arguments(parser):
    parser.add_argument("--calls", type=int, default=200, help="per automation")
    parser.add_argument("--lines", type=int, default=50, help="per order")


def prepare(bench, options):
    return bench.run_script(ADDON_DB.name, SETUP)


def measure(bench, setup, options):
    from lib import standard_webhooks  # the addon's ORM-free core (see context.py)

    session = requests.Session()
    timings = {"immediate": [], "queued": []}

    def call(processing, index):
        body = _order(processing, index, options.lines)
        headers = {"Content-Type": "application/json", "X-Odoo-Database": ADDON_DB.name}
        headers.update(
            standard_webhooks.sign_headers(
                [setup["secret"]], f"{processing}-{index}", body
            )
        )
        url = f"{bench.server.url}/web/hook/{setup['uuids'][processing]}"
        started = time.perf_counter()
        response = session.post(url, data=body, headers=headers, timeout=60)
        elapsed = time.perf_counter() - started
        expected = 202 if processing == "queued" else 200
        if response.status_code != expected:
            raise RuntimeError(
                f"{processing} call {index} answered {response.status_code}: "
                f"{response.text}"
            )
        return elapsed

    for index in range(WARM_UP):
        for processing in timings:
            call(processing, -1 - index)
    started = time.monotonic()
    for index in range(options.calls):
        order = list(timings) if index % 2 else list(timings)[::-1]
        for processing in order:
            timings[processing].append(call(processing, index))
    total = WARM_UP + options.calls
    drained = _wait_drained(bench, total)
    drain_time = time.monotonic() - started
    return _report(timings, options, drained, drain_time, total)


def _wait_drained(bench, total):
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline:
        rows = bench.sql(
            ADDON_DB.name,
            "SELECT count(*) FROM integration_webhook_message"
            " WHERE processing = 'queued' AND state = 'done'",
        )
        if rows[0][0] >= total:
            return rows[0][0]
        time.sleep(0.5)
    return rows[0][0]


def _report(timings, options, drained, drain_time, total):
    report = Report("Incoming webhooks: queued against immediate processing")
    report.lines.append(
        f"{options.calls} calls each, orders of {options.lines} lines, one at a time"
    )
    report.lines.append(f"{'':12}{'median':>12}{'mean':>12}{'p90':>12}")
    for processing, values in timings.items():
        report.lines.append(
            f"{processing:12}{_ms(statistics.median(values)):>12}"
            f"{_ms(statistics.fmean(values)):>12}"
            f"{_ms(statistics.quantiles(values, n=10)[-1]):>12}"
        )
    report.lines.append(
        f"queued messages run by the crons: {drained} of {total}, all done "
        f"{drain_time:.1f} s after the first measured call"
    )
    queued_ms = statistics.median(timings["queued"]) * 1000
    immediate_ms = statistics.median(timings["immediate"]) * 1000
    report.figures.append(
        Figure(
            f"incoming webhook queued, order of {options.lines} lines (median)",
            queued_ms,
            unit="ms",
            goal=f"<= {GOAL_MS:.0f} ms",
            met=queued_ms <= GOAL_MS and drained >= total,
        )
    )
    report.figures.append(
        Figure(
            f"incoming webhook immediate, order of {options.lines} lines (median)",
            immediate_ms,
            unit="ms",
        )
    )
    return report


def _order(processing, index, lines):
    return json.dumps(
        {
            "ref": f"{processing.upper()}-{index}",
            "customer": {"name": "Deco Addict", "email": "deco@example.com"},
            "lines": [{"sku": f"DESK-{n:02d}", "qty": n + 1} for n in range(lines)],
        }
    ).encode()


def _ms(seconds):
    return f"{seconds * 1000:.2f} ms"


def main(argv=None):
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
