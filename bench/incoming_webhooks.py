"""What a validator costs an incoming webhook, end to end.

"On webhook" automations doing the same work (find a partner, write on it)
run on one Odoo server: one without a validator, as in core, and one whose
validator checks a Standard Webhooks signature and its timestamp, the size,
the content type, the source network, a JSON Schema and replays; three more
validators check part of that, to show what each check costs. The same 1 KB
JSON body is posted to each, in turn, one call at a time, and the latencies
are compared side by side::

    ~/.cache/integration_gateway/venv/bin/python bench/incoming_webhooks.py

``--calls N`` (per automation, default 600); ``bench/run_all.py`` runs it
with every other benchmark on one server.
"""

import json
import statistics
import sys
import time
import uuid

import requests
from context import ADDON_DB, FIXTURES, Figure, Report, run_alone

DATABASES = [ADDON_DB]
GOAL = 1.02  # ratio of medians, validated / core
WARM_UP = 100  # calls per automation before measuring
# What each automation's validator checks; "ratio" and "extra" are against
# the first, and the last is the full validator the figure of merit is for.
VARIANTS = {
    "plain": "no validator (core)",
    "signed": "signature, size, type, network",
    "schema": "+ JSON Schema",
    "replay": "+ replay protection (no schema)",
    "validated": "signed + schema-checked + replay-protected",
}
BODY_BYTES = 1024
SCHEMA = {
    "type": "object",
    "required": ["ref", "amount", "currency", "lines"],
    "properties": {
        "ref": {"type": "string", "maxLength": 64},
        "amount": {"type": "integer", "minimum": 0},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "quantity", "price"],
                "properties": {
                    "sku": {"type": "string"},
                    "quantity": {"type": "integer", "minimum": 1},
                    "price": {"type": "number"},
                },
            },
        },
        "note": {"type": "string"},
    },
}
SETUP = FIXTURES / "incoming_validators.py"

# Smaller counts for a quick check that the benchmark works (--quick).
QUICK = {"calls": 100}


def add_arguments(parser):
    parser.add_argument("--calls", type=int, default=600, help="per automation")


def prepare(bench, options):
    return bench.run_script(ADDON_DB.name, SETUP, SCHEMA)


def measure(bench, setup, options):
    from lib import standard_webhooks  # the addon's ORM-free core (see context.py)

    timings = _measure(
        bench.server.url, ADDON_DB.name, setup, options.calls, standard_webhooks
    )
    return _report(timings, options.calls)


def _measure(base, db, setup, calls, standard_webhooks):
    body = _body()
    session = requests.Session()
    secret = setup["secret"]
    timings = {name: [] for name in VARIANTS}

    def call(name, index):
        headers = {"Content-Type": "application/json", "X-Odoo-Database": db}
        if name != "plain":
            headers.update(
                standard_webhooks.sign_headers(
                    [secret], f"msg_{uuid.uuid4().hex}", body
                )
            )
        url = f"{base}/web/hook/{setup['uuids'][name]}"
        started = time.perf_counter()
        response = session.post(url, data=body, headers=headers, timeout=30)
        elapsed = time.perf_counter() - started
        if response.status_code != 200 or response.json() != {"status": "ok"}:
            raise RuntimeError(
                f"{name} call {index} answered {response.status_code}: {response.text}"
            )
        return elapsed

    for index in range(WARM_UP):
        for name in timings:
            call(name, index)
    # In turn, forwards then backwards, so that whatever slows the machine
    # down slows every variant alike.
    for index in range(calls):
        order = list(timings) if index % 2 else list(timings)[::-1]
        for name in order:
            timings[name].append(call(name, index))
    return timings


def _report(timings, calls):
    plain = timings["plain"]
    report = Report("Incoming webhook validators: latency of /web/hook/<uuid>")
    report.lines.append(f"{calls} calls each, 1 KB JSON body, one at a time")
    report.lines.append(
        f"{'':42}{'median':>10}{'mean':>10}{'p90':>10}{'ratio':>8}{'extra':>10}"
    )
    for name, label in VARIANTS.items():
        values = timings[name]
        ratio = statistics.median(values) / statistics.median(plain)
        extra = statistics.median(values) - statistics.median(plain)
        report.lines.append(
            f"{label:42}{_ms(statistics.median(values)):>10}"
            f"{_ms(statistics.fmean(values)):>10}"
            f"{_ms(statistics.quantiles(values, n=10)[-1]):>10}"
            f"{ratio:>8.3f}{_ms(extra):>10}"
        )
    validated = timings["validated"]
    ratio = statistics.median(validated) / statistics.median(plain)
    report.lines.append(
        f"ratio signed + schema-checked / core: median {ratio:.3f}, mean "
        f"{statistics.fmean(validated) / statistics.fmean(plain):.3f}"
    )
    report.figures.append(
        Figure(
            "incoming webhook, validated (signed, schema, replay) / core (median)",
            ratio,
            goal=f"<= {GOAL:.2f}",
            met=ratio <= GOAL,
        )
    )
    return report


def _ms(seconds):
    return f"{seconds * 1000:.2f} ms"


def _body():
    payload = {
        "ref": "BENCH-1",
        "amount": 12990,
        "currency": "EUR",
        "lines": [
            {"sku": f"SKU-{i:04d}", "quantity": i + 1, "price": 12.5 * (i + 1)}
            for i in range(8)
        ],
        "note": "",
    }
    padding = BODY_BYTES - len(json.dumps(payload).encode())
    payload["note"] = "x" * padding
    body = json.dumps(payload).encode()
    assert len(body) == BODY_BYTES, len(body)
    return body


def main(argv=None):
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
