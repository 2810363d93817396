"""Queued outgoing webhooks, measured on a real Odoo server with cron workers.

    ~/.cache/integration_gateway/venv/bin/python bench/outgoing_dispatch.py

Starts Odoo (4 workers, 2 cron workers) and a receiver on 127.0.0.1, then
measures, in one run:

1. dispatch throughput: a backlog of queued deliveries drained by one
   dispatcher, then by two dispatchers on the two cron workers (deliveries
   per second, and per dispatcher), to a receiver that answers at once and
   to one that takes 20 ms per answer;
2. first-attempt delay: partners created one at a time through JSON/2, each
   queuing a webhook through an automation; the delay runs from the moment
   the request was sent (so it includes the request itself and its commit)
   to the webhook's arrival. Odoo's own immediate webhook, measured the same
   way on tags, is printed beside it;
3. an outage: partners and tags created while the receiver answers 503, then
   the receiver comes back: how many webhooks of each kind arrive.

Options: ``--deliveries N`` (backlog per throughput run, default 5000),
``--events N`` (created records per delay run, default 100),
``--outage-events N`` (default 20). ``bench/run_all.py`` runs it with every
other benchmark on one server.
"""

import json
import statistics
import sys
import time
import urllib.request

from context import FIXTURES, WEBHOOKS_DB, Figure, Report, harness, run_alone

DATABASES = [WEBHOOKS_DB]
QUICK = {"deliveries": 1000, "events": 30, "outage_events": 10}
SLOW_ANSWER = 0.020  # seconds the slow receiver takes to answer
GOAL_RATE = 500  # deliveries per second per dispatcher
GOAL_DELAY = 2.0  # seconds, p95 of the first-attempt delay
GOAL_CPU_MS = 0.5  # server CPU time per delivery


# -- the receiver -----------------------------------------------------------

# Where the deliveries of each throughput run go on the receiver.
PATHS = {"/ok": "/ok", "/slow": f"/slow/{SLOW_ANSWER}"}


def arrivals(receiver):
    """{event key: time.time() of its first arrival} from what the receiver
    (harness.new_receiver) recorded; answered 503 while in ``outage``, it
    records nothing."""
    first = {}
    for request in receiver.snapshot():
        payload = json.loads(request.body)
        first.setdefault(payload.get("name") or payload.get("n"), request.at)
    return first


# -- measurements ------------------------------------------------------------

SETUP = FIXTURES / "outgoing_webhooks.py"

BACKLOG = FIXTURES / "outgoing_backlog.py"


def throughput(bench, receiver, dispatchers, path, count):
    """Queues ``count`` deliveries to ``path`` of the receiver while the
    server runs, and measures from the first arrival to the last."""
    receiver.clear()
    values = {"dispatchers": dispatchers, "count": count}
    cpu_before = bench.server.cpu_seconds()
    bench.run_script(
        WEBHOOKS_DB.name, BACKLOG, dispatchers, receiver.port, PATHS[path], count
    )
    deadline = time.monotonic() + 600
    while len(receiver.requests) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    # The server does nothing else meanwhile: its CPU time over the run is
    # the dispatchers' (claims, sends, outcomes; the queuing script runs in
    # a process of its own).
    cpu = bench.server.cpu_seconds() - cpu_before
    received = len(receiver.requests)
    if received < count:
        raise RuntimeError(f"only {received} of {count} deliveries arrived")
    first = arrivals(receiver)
    times = sorted(first.values())
    rate = (count - 1) / (times[-1] - times[0])
    return {
        **values,
        "path": path,
        "rate": rate,
        "per_dispatcher": rate / dispatchers,
        "duplicates": len(receiver.requests) - len(first),
        "cpu_ms": cpu * 1000 / count,
    }


def create_records(bench, key, model, events):
    """Creates ``events`` records through JSON/2, one at a time; returns
    {name: time.time() the request was sent}."""
    sent = {}
    for n in range(events):
        name = f"{model} {n} {time.time()}"
        body = json.dumps({"vals_list": [{"name": name}]}).encode()
        request = urllib.request.Request(
            f"{bench.server.url}/json/2/{model}/create",
            data=body,
            headers={
                "Authorization": f"bearer {key}",
                "Content-Type": "application/json",
                "X-Odoo-Database": WEBHOOKS_DB.name,
            },
        )
        sent[name] = time.time()
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        time.sleep(0.05)
    return sent


def first_attempt_delays(bench, receiver, key, model, events):
    """Creates ``events`` records through JSON/2, one at a time; returns the
    delay of each record's webhook, from request to arrival (seconds)."""
    receiver.clear()
    sent = create_records(bench, key, model, events)
    deadline = time.monotonic() + 120
    while len(arrivals(receiver)) < events and time.monotonic() < deadline:
        time.sleep(0.05)
    first = arrivals(receiver)
    return [first[name] - at for name, at in sent.items() if name in first]


def outage(bench, receiver, key, events):
    """Creates ``events`` partners (queued webhooks) and as many tags (Odoo's
    immediate webhooks) while the receiver answers 503, then brings it back.
    Returns how many of each arrived, and how long after the receiver came
    back the last queued one did."""
    receiver.clear()
    receiver.outage = 503
    queued = create_records(bench, key, "res.partner", events)
    immediate = create_records(bench, key, "res.partner.category", events)
    time.sleep(1)
    receiver.outage = None
    back = time.time()
    # Retries are due 5 s later; a dispatcher cron waits for them.
    deadline = time.monotonic() + 150
    while (
        sum(name in arrivals(receiver) for name in queued) < events
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    time.sleep(2)  # immediate webhooks are never retried: nothing more comes
    first = arrivals(receiver)
    arrived = [first[name] for name in queued if name in first]
    return {
        "queued": len(arrived),
        "immediate": sum(name in first for name in immediate),
        "recovered_in": max(arrived) - back if arrived else None,
    }


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(args, results, queued, immediate, lost):
    out = Report("Outgoing webhooks: dispatch throughput, first-attempt delay")
    lines = out.lines
    lines.append(f"Dispatch throughput, {args.deliveries} queued deliveries per run")
    for path, label in (("/ok", "answering at once"), ("/slow", "answering in 20 ms")):
        one, two = (r for r in results if r["path"] == path)
        lines.append(f"  receiver {label}:")
        for r in (one, two):
            lines.append(
                f"    {r['dispatchers']} dispatcher(s): {r['rate']:6.0f} "
                f"deliveries/s ({r['per_dispatcher']:.0f} per dispatcher), "
                f"{r['duplicates']} sent twice, server CPU "
                f"{r['cpu_ms']:.2f} ms per delivery"
            )
        lines.append(
            f"    2 dispatchers / 1 dispatcher: x{two['rate'] / one['rate']:.2f}"
        )
    lines.append(
        f"First-attempt delay, {args.events} events, request sent -> webhook received"
    )
    for label, delays in (
        ("queued (this addon)", queued),
        ("immediate (Odoo)", immediate),
    ):
        lines.append(
            f"  {label:20} p50 {statistics.median(delays) * 1000:6.0f} ms   "
            f"p95 {percentile(delays, 0.95) * 1000:6.0f} ms   "
            f"max {max(delays) * 1000:6.0f} ms   ({len(delays)}/{args.events} arrived)"
        )
    ratio = percentile(queued, 0.95) / percentile(immediate, 0.95)
    lines.append(f"  queued p95 / immediate p95: x{ratio:.1f}")
    events = args.outage_events
    lines.append(
        f"Receiver down (503) while {events} events of each kind happen, then up"
    )
    recovered = lost["recovered_in"]
    lines.append(
        f"  queued (this addon)  {lost['queued']}/{events} delivered"
        + (
            f", the last {recovered:.1f} s after the receiver came back"
            if recovered is not None
            else ""
        )
    )
    lines.append(f"  immediate (Odoo)     {lost['immediate']}/{events} delivered")
    for r in results:
        if r["path"] != "/ok":
            continue
        out.figures.append(
            Figure(
                f"dispatch throughput per dispatcher, {r['dispatchers']} "
                "dispatcher(s), receiver answering at once",
                r["per_dispatcher"],
                unit="/s",
                goal=f">= {GOAL_RATE} /s",
                met=r["per_dispatcher"] >= GOAL_RATE,
            )
        )
    one = next(r for r in results if r["path"] == "/ok" and r["dispatchers"] == 1)
    out.figures.append(
        Figure(
            "dispatcher CPU time per delivery (server process group, 1 "
            "dispatcher, receiver answering at once)",
            one["cpu_ms"],
            unit="ms",
            goal=f"<= {GOAL_CPU_MS} ms",
            met=one["cpu_ms"] <= GOAL_CPU_MS,
        )
    )
    p95 = percentile(queued, 0.95)
    out.figures.append(
        Figure(
            "first-attempt delay p95, queued webhook (request sent -> received)",
            p95 * 1000,
            unit="ms",
            goal=f"<= {GOAL_DELAY * 1000:.0f} ms",
            met=p95 <= GOAL_DELAY and len(queued) == args.events,
        )
    )
    out.figures.append(
        Figure(
            f"webhooks delivered after a receiver outage, queued / Odoo's "
            f"immediate (of {events})",
            lost["queued"],
            unit=f"/ {lost['immediate']}",
            goal=f"{events} / -",
            met=lost["queued"] == events,
        )
    )
    return out


def add_arguments(parser):
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--outage-events", type=int, default=20)


def prepare(bench, options):
    receiver = harness.new_receiver()
    bench.run_script(WEBHOOKS_DB.name, SETUP, receiver.port)
    return {"receiver": receiver}


def measure(bench, state, args):
    receiver = state["receiver"]
    receiver.start()
    key = bench.admin_token(WEBHOOKS_DB.name)
    try:
        results = []
        for dispatchers in (1, 2):
            # /ok last: the delay measurements below use the endpoint as left.
            for path in ("/slow", "/ok"):
                results.append(
                    throughput(bench, receiver, dispatchers, path, args.deliveries)
                )
        queued = first_attempt_delays(bench, receiver, key, "res.partner", args.events)
        immediate = first_attempt_delays(
            bench, receiver, key, "res.partner.category", args.events
        )
        lost = outage(bench, receiver, key, args.outage_events)
    finally:
        receiver.stop()
    return report(args, results, queued, immediate, lost)


def main(argv=None):
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
