"""Per-key rate limits under load: Odoo with 4 worker processes and 1,000
concurrent JSON/2 calls per key limited to 100/minute.

    ~/.cache/integration_gateway/venv/bin/python bench/ratelimit.py

Side by side in one run, on one server, it fires 1,000 calls (64 in flight)
with:

* a key limited to 100/minute, counters in PostgreSQL;
* a key limited to 100/minute, counters in the local Redis;
* a key without a limit, for the cost of the limiter by comparison;

then again with fresh limited keys and one call per worker in flight, for
the decision time without the queueing of an overloaded machine.

It reports how many calls were accepted (never more than 100 may be) and
refused, whether every answer carries the rate-limit headers, the latency
seen by the client, and the time of the rate-limit decision measured inside
the workers (from the limiter's debug log). ``--calls``, ``--concurrency``
change the load; ``bench/run_all.py`` runs it with every other benchmark.
"""

import concurrent.futures
import contextlib
import http.client
import json
import os
import re
import statistics
import sys
import time
import types

import psycopg2
import redis
from context import ADDON_DB, FIXTURES, Figure, Report, harness, run_alone

DATABASES = [ADDON_DB]
# The limiter says how long each decision took in its debug log.
LIMITER_LOGGER = "odoo.addons.integration_gateway.models.integration_rate_limiter"
SERVER_ARGS = [f"--log-handler={LIMITER_LOGGER}:DEBUG"]
REDIS_URL = "redis://127.0.0.1:6379/0"
LIMIT = "100/minute"
GOAL_P99_MS = 2.0
GOAL_ALONE_P99_MS = 0.5
LIMITED_HEADERS = (
    "RateLimit-Policy",
    "RateLimit",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
)
DECISION_LINE = re.compile(
    r"decision on apikey:(?P<key>\d+) by (?P<backend>.+?) in (?P<ms>[\d.]+) ms"
)
LABELS = {
    "postgres": "100/min, PostgreSQL",
    "redis": "100/min, Redis",
    "free": "no limit",
    "postgres-4": "100/min, PostgreSQL",
    "redis-4": "100/min, Redis",
}

SETUP = FIXTURES / "ratelimit_keys.py"

# Smaller counts for a quick check that the benchmark works (--quick).
QUICK = {"calls": 300}


def add_arguments(parser):
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)


def prepare(bench, options):
    bench.server_args.extend(SERVER_ARGS)
    return bench.run_script(ADDON_DB.name, SETUP, LIMIT)


def measure(bench, setup, options):
    tokens = setup["tokens"]
    workers = bench.workers
    log = bench.server.log
    call = _Caller(bench.server.port, ADDON_DB.name)
    # Every worker loads the registry on its first calls: not measured.
    _burst(call, tokens["free"][0], 4 * workers, workers)
    results, loads = {}, {}
    try:
        for name, redis_url, concurrency in (
            ("postgres", "", options.concurrency),
            ("redis", REDIS_URL, options.concurrency),
            ("free", "", options.concurrency),
            # One call per worker at a time: the decision without the
            # queueing of an overloaded machine.
            ("postgres-4", "", workers),
            ("redis-4", REDIS_URL, workers),
        ):
            bench.set_param(ADDON_DB.name, "integration_gateway.redis_url", redis_url)
            offset = log.stat().st_size
            started = time.perf_counter()
            calls = _burst(call, tokens[name][0], options.calls, concurrency)
            elapsed = time.perf_counter() - started
            decisions = _decision_times(log, offset, tokens[name][1])
            results[name] = (calls, elapsed, decisions, concurrency)
            loads[name] = os.getloadavg()[0]
        bench.set_param(ADDON_DB.name, "integration_gateway.redis_url", "")
        alone = _decisions_alone(setup["uuid"])
    finally:
        _forget_redis(setup["uuid"])
    report = Report(
        f"Rate limits: {options.calls} JSON/2 calls per key, {workers} workers, "
        f"limited keys {LIMIT}"
    )
    _report(report, results, options, loads)
    _report_alone(report, alone)
    return report


class _NoAnswer:
    """A call that got no HTTP answer (connection reset, ...)."""

    status = None
    headers = types.MappingProxyType({})


class _Caller:
    """JSON/2 calls with http.client rather than requests: 64 client threads
    in one Python process must leave the CPU to the server being measured."""

    def __init__(self, port, db):
        self.port = port
        self.db = db

    def __call__(self, token, model="res.partner", method="search_count"):
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(
                "POST",
                f"/json/2/{model}/{method}",
                body=json.dumps({"domain": []}),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "X-Odoo-Database": self.db,
                    "Connection": "close",
                },
            )
            response = connection.getresponse()
            response.read()
        except OSError:
            response = _NoAnswer()
        finally:
            connection.close()
        return response, (time.perf_counter() - started) * 1000


def _burst(call, token, calls, concurrency):
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda _i: call(token), range(calls)))


def _decision_times(log, offset, key_id):
    with open(log, encoding="utf-8", errors="replace") as lines:
        lines.seek(offset)
        return [
            float(m["ms"])
            for line in lines
            if (m := DECISION_LINE.search(line)) and int(m["key"]) == key_id
        ]


def _percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _report(report, results, options, loads):
    lines = report.lines
    head = (
        f"{'key':<22}{'flight':>7}{'200':>6}{'429':>6}{'other':>7}{'none':>6}"
        f"{'headers':>9}"
        f"{'calls/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'decision p50':>14}{'p99':>8}{'max':>8}{'n':>6}"
    )
    lines += [head, "-" * len(head)]
    latencies = {}
    all_ok = True
    for name, (calls, elapsed, decisions, concurrency) in results.items():
        statuses = [response.status for response, _ms in calls]
        accepted, refused = statuses.count(200), statuses.count(429)
        limited = name != "free"
        with_headers = sum(
            all(h in response.headers for h in LIMITED_HEADERS)
            and (response.status != 429 or "Retry-After" in response.headers)
            for response, _ms in calls
        )
        latencies[name] = [ms for _response, ms in calls]
        decision = (
            f"{_percentile(decisions, 0.5):>14.3f}{_percentile(decisions, 0.99):>8.3f}"
            f"{max(decisions):>8.3f}{len(decisions):>6}"
            if decisions
            else f"{'-':>14}{'-':>8}{'-':>8}{0:>6}"
        )
        unanswered = statuses.count(None)
        others = len(statuses) - accepted - refused - unanswered
        lines.append(
            f"{LABELS[name]:<22}{concurrency:>7}{accepted:>6}{refused:>6}{others:>7}"
            f"{unanswered:>6}"
            f"{(f'{with_headers}' if limited else '-'):>9}"
            f"{len(calls) / elapsed:>9.0f}"
            f"{statistics.median(latencies[name]):>9.1f}"
            f"{_percentile(latencies[name], 0.99):>9.1f}"
            f"{decision}"
        )
        if limited:
            answered = len(calls) - unanswered
            ok = (
                accepted <= 100
                and accepted + refused == answered
                and with_headers == answered
            )
            all_ok = all_ok and ok and not unanswered
            lines.append(
                f"{'':<22}at most 100 accepted, every other answer 429, every "
                f"answer with headers: {'OK' if ok else 'FAILED'}"
                + (f" ({unanswered} calls got no answer)" if unanswered else "")
            )
    free = statistics.median(latencies["free"])
    for name in ("postgres", "redis"):
        ratio = statistics.median(latencies[name]) / free
        lines.append(f"median latency {name} / no limit: {ratio:.2f}")
    lines.append(
        "decision = time inside the worker to decide and count one call "
        f"(storage round trip included); goal p99 <= {GOAL_P99_MS:g} ms"
    )
    for name, label in (("postgres-4", "PostgreSQL"), ("redis-4", "Redis")):
        p99 = _percentile(results[name][2], 0.99)
        p50 = _percentile(results[name][2], 0.5)
        report.figures.append(
            Figure(
                f"rate-limit decision p99 in the workers, {label}, one call per "
                f"worker (p50 {p50:.2f} ms, load average {loads[name]:.1f})",
                p99,
                unit="ms",
                goal=f"<= {GOAL_P99_MS:g} ms",
                met=p99 <= GOAL_P99_MS,
            )
        )
    p99 = _percentile(results["postgres"][2], 0.99)
    report.figures.append(
        Figure(
            f"  same, PostgreSQL, {options.concurrency} calls in flight",
            p99,
            unit="ms",
        )
    )
    most = max(
        [response.status for response, _ms in results[name][0]].count(200)
        for name in LABELS
        if name != "free"
    )
    report.figures.append(
        Figure(
            f"{options.calls} calls on {LIMIT}: most accepted for one key "
            "(all others 429 with headers)",
            most,
            unit="accepted",
            goal="<= 100",
            met=all_ok,
        )
    )


def _decisions_alone(uuid, count=2000):
    """The decision of the storages the addon uses, measured where nothing
    else competes for the CPU: ``count`` calls one after the other on one
    key, limit never reached."""
    from lib import ratelimit  # the addon's ORM-free core (see context.py)

    limits = ratelimit.parse_limits("1000000/minute; 10000000/hour")
    conn = psycopg2.connect(dbname=ADDON_DB.name, **harness.pg_params())
    conn.set_session(autocommit=True)

    @contextlib.contextmanager
    def connect():
        with conn.cursor() as cr:
            yield cr

    client = redis.Redis.from_url(REDIS_URL)
    storages = {
        "PostgreSQL": ratelimit.PostgresStorage(connect),
        "Redis": ratelimit.RedisStorage(client, f"integration_gateway:{uuid}:"),
        "memory (reference)": ratelimit.MemoryStorage(),
    }
    timings = {}
    try:
        for name, storage in storages.items():
            storage.hit("bench:alone", limits)  # plans and scripts cached
            times = []
            for _ in range(count):
                started = time.perf_counter()
                storage.hit("bench:alone", limits, tally="bench:alone")
                times.append((time.perf_counter() - started) * 1000)
            timings[name] = times
    finally:
        conn.close()
        client.close()
    return timings


def _report_alone(report, timings):
    report.lines.append(
        "decision alone (2 limits, usage tally included), one call at a time, "
        "from the benchmark's process:"
    )
    for name, times in timings.items():
        report.lines.append(
            f"  {name:<20} p50 {_percentile(times, 0.5):.3f} ms   "
            f"p99 {_percentile(times, 0.99):.3f} ms   max {max(times):.3f} ms"
        )
    for name in ("PostgreSQL", "Redis"):
        p99 = _percentile(timings[name], 0.99)
        report.figures.append(
            Figure(
                f"rate-limit decision p99 from one process, {name}",
                p99,
                unit="ms",
                goal=f"<= {GOAL_ALONE_P99_MS:g} ms",
                met=p99 <= GOAL_ALONE_P99_MS,
            )
        )


def _forget_redis(uuid):
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"integration_gateway:{uuid}:*"):
            client.delete(key)
    finally:
        client.close()


def main(argv=None):
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
