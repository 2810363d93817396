"""What fanning an event out to subscribed endpoints costs its request.

600 partners are created through JSON/2, one per call, for each of two
variants, interleaved on one server: an event that goes to its action's
endpoint only, and an event that also goes to four endpoints subscribed to
its event type (five deliveries). The deliveries of one event are written
in one INSERT, so the second should cost little more than the first. The
endpoints are disabled, so that the deliveries wait and no dispatch loads
the machine while the requests are timed.

    ~/.cache/integration_gateway/venv/bin/python bench/event_fanout.py

Options: ``--calls N`` (per variant, default 600). ``bench/run_all.py``
runs it with every other benchmark on one server.
"""

import statistics
import sys

import requests
from context import (
    FIXTURES,
    Database,
    Figure,
    Report,
    interleaved,
    run_alone,
    timed_create,
)

FANOUT_DB = Database("ig_bench_fanout", "addon")
DATABASES = [FANOUT_DB]
QUICK = {"calls": 100}
GOAL = 1.30  # five endpoints / one endpoint, ratio of medians
WARMUP = 30  # calls per variant before timing
SUBSCRIBERS = 4  # endpoints subscribed besides the action's own
VARIANTS = {"one": "event to its action's endpoint", "five": "event to 5 endpoints"}

SETUP = FIXTURES / "event_fanout_setup.py"


def add_arguments(parser):
    parser.add_argument("--calls", type=int, default=600, help="per variant")


def prepare(bench, options):
    bench.run_script(FANOUT_DB.name, SETUP, SUBSCRIBERS)


def _create(bench, session, token, variant, n):
    vals = {"name": f"Fan-out {variant} {n}", "ref": f"{variant}-{n}"}
    return timed_create(bench, FANOUT_DB.name, session, token, variant, vals)


def measure(bench, _state, options):
    token = bench.admin_token(FANOUT_DB.name)
    with requests.Session() as session:
        timings = interleaved(
            VARIANTS,
            options.calls,
            WARMUP,
            lambda name, n: _create(bench, session, token, name, n),
        )
    counts = bench.run_script(FANOUT_DB.name, FIXTURES / "event_fanout_counts.py")
    medians = {name: statistics.median(values) for name, values in timings.items()}
    ratio = medians["five"] / medians["one"]
    report = Report("Event fan-out: JSON/2 create of one partner")
    report.lines.append(
        f"{options.calls} calls per variant, interleaved, one at a time; "
        f"deliveries written: {counts}"
    )
    for name, label in VARIANTS.items():
        report.lines.append(f"{label:34}{medians[name] * 1000:8.2f}ms median")
    report.lines.append(f"5 endpoints / 1 endpoint {ratio:.3f} (goal <= {GOAL:.2f})")
    report.figures.append(
        Figure(
            f"Event fan-out to 5 endpoints / to 1 (median, {options.calls} creates)",
            ratio,
            goal=f"<= {GOAL:.2f}",
            met=ratio <= GOAL,
        )
    )
    return report


def main(argv=None):
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
