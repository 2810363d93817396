"""What a queued webhook costs the request that triggers it.

1,000 partners are created through JSON/2, one per call, for each of five
variants, interleaved on one server: without any webhook; with an
automation whose server action does nothing (what Odoo's automations cost,
webhook or not); with a queued webhook of this addon (a delivery row written
in the request's transaction, sent afterwards by the dispatcher crons); and
with Odoo's immediate webhook, which the request posts after its commit,
here to a receiver that takes 50 ms to answer; and the queued webhook to an
archived endpoint, whose deliveries are written but not sent: on a machine
of 2 CPUs the dispatcher sending the previous call's webhook competes with
the next call, and this variant shows the request's cost without that.
The webhooks sent go to that receiver. The automations differ only by the
partners they apply to (their reference), so every call does the same work
but for its automation.

    ~/.cache/integration_gateway/venv/bin/python bench/webhook_overhead.py

Options: ``--calls N`` (per variant, default 1000). ``bench/run_all.py``
runs it with every other benchmark on one server.
"""

import statistics
import sys

import requests
from context import (
    FIXTURES,
    WEBHOOKS_DB,
    Figure,
    Report,
    harness,
    interleaved,
    run_alone,
    timed_create,
)

DATABASES = [WEBHOOKS_DB]
QUICK = {"calls": 100}
RECEIVER_DELAY = 0.05  # seconds the receiver takes to answer
GOAL = 1.10  # queued webhook / no webhook, ratio of medians
GOAL_OWN = 1.05  # queued webhook / automation doing nothing
WARMUP = 30  # calls per variant before timing
VARIANTS = {
    "none": "no webhook",
    "noop": "automation running a server action doing nothing",
    "queued": "queued webhook (this addon)",
    "paused": "queued webhook, nothing sent (endpoint archived)",
    "immediate": "Odoo's immediate webhook, 50 ms receiver",
}

SETUP = FIXTURES / "webhook_overhead_setup.py"


def add_arguments(parser):
    parser.add_argument("--calls", type=int, default=1000, help="per variant")


def prepare(bench, options):
    receiver = harness.new_receiver(delay=RECEIVER_DELAY)
    bench.run_script(WEBHOOKS_DB.name, SETUP, receiver.url("/hook"))
    return receiver


def _create(bench, session, token, variant, n):
    vals = {"name": f"Overhead {variant} {n}", "ref": f"{variant}-{n}"}
    return timed_create(bench, WEBHOOKS_DB.name, session, token, variant, vals)


def measure(bench, receiver, options):
    token = bench.admin_token(WEBHOOKS_DB.name)
    with receiver, requests.Session() as session:
        timings = interleaved(
            VARIANTS,
            options.calls,
            WARMUP,
            lambda name, n: _create(bench, session, token, name, n),
        )
        expected = WARMUP + options.calls

        def arrived():
            refs = [hit.body for hit in receiver.snapshot()]
            return {
                mode: sum(f'"{mode}-'.encode() in body for body in refs)
                for mode in ("queued", "immediate")
            }

        harness.wait_for(
            lambda: arrived() == {"queued": expected, "immediate": expected},
            timeout=300,
            what=f"{expected} webhooks of each kind",
            detail=arrived,
        )

    medians = {name: statistics.median(values) for name, values in timings.items()}
    report = Report("Webhook cost to the request: JSON/2 create of one partner")
    report.lines.append(
        f"{options.calls} calls per variant, interleaved, one at a time; every "
        "webhook arrived"
    )
    report.lines.append(f"{'':44}{'median':>10}{'mean':>10}{'p90':>10}{'ratio':>8}")
    for name, label in VARIANTS.items():
        values = timings[name]
        report.lines.append(
            f"{label:44}{medians[name] * 1000:8.2f}ms"
            f"{statistics.fmean(values) * 1000:8.2f}ms"
            f"{statistics.quantiles(values, n=10)[-1] * 1000:8.2f}ms"
            f"{medians[name] / medians['none']:8.3f}"
        )
    ratio = medians["queued"] / medians["none"]
    versus = medians["queued"] / medians["immediate"]
    own = medians["queued"] / medians["noop"]
    paused = medians["paused"] / medians["noop"]
    report.lines.append(
        f"queued / none {ratio:.3f} (goal <= {GOAL:.2f}); queued / immediate "
        f"{versus:.3f}; queued / automation doing nothing {own:.3f} (what the "
        "addon adds to the automation Odoo runs anyway); with nothing sent "
        f"(the dispatchers idle) / automation doing nothing {paused:.3f}"
    )
    report.figures += [
        Figure(
            f"JSON/2 create with a queued webhook / without (median, {options.calls})",
            ratio,
            goal=f"<= {GOAL:.2f}",
            met=ratio <= GOAL,
        ),
        Figure(
            "  same / with Odoo's immediate webhook to a 50 ms receiver",
            versus,
        ),
        Figure("  same / with an automation doing nothing", own),
        Figure(
            "  queued webhook, nothing sent / automation doing nothing (the "
            "request's own cost, without the sending beside it)",
            paused,
            goal=f"<= {GOAL_OWN:.2f}",
            met=paused <= GOAL_OWN,
        ),
    ]
    return report


def main(argv=None):
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
