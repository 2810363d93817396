"""Per-key rate limits under load: Odoo with 4 worker processes and 1,000
concurrent JSON/2 calls per key limited to 100/minute.

    ~/.cache/integration_gateway/venv/bin/python bench/ratelimit.py

Builds a database of its own (``ig_ratelimit_bench``, dropped at the end)
with the addon, starts Odoo in prefork mode (4 workers, port 18310) and, side
by side in one run, fires 1,000 calls (64 in flight) with:

* a key limited to 100/minute, counters in PostgreSQL;
* a key limited to 100/minute, counters in the local Redis;
* a key without a limit, for the cost of the limiter by comparison;

then again with fresh limited keys and one call per worker in flight, for
the decision time without the queueing of an overloaded machine.

It reports how many calls were accepted (never more than 100 may be) and
refused, whether every answer carries the rate-limit headers, the latency
seen by the client, and the time of the rate-limit decision measured inside
the workers (from the limiter's debug log). ``--calls``, ``--concurrency``,
``--workers`` change the load.
"""

import argparse
import concurrent.futures
import contextlib
import http.client
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import psycopg2
import redis
from psycopg2 import sql

REPO = Path(__file__).resolve().parent.parent
DB = "ig_ratelimit_bench"
PORT = 18310
GEVENT_PORT = 18311
REDIS_URL = "redis://127.0.0.1:6379/0"
LIMIT = "100/minute"
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

# Run inside `odoo-bin shell`: the bench's own database and session, so it
# commits what it creates.
SETUP = f"""
import datetime, json
user = env["res.users"].create({{
    "name": "Bench API", "login": "bench_api",
    "group_ids": [(6, 0, [env.ref("base.group_user").id,
                          env.ref("base.group_partner_manager").id])],
}})
policy = env["integration.api.policy"].create({{
    "name": "Bench", "rate_limit": "{LIMIT}",
    "rule_ids": [(0, 0, {{"model_pattern": "res.partner", "method_pattern": "*"}})],
}})
expiry = datetime.datetime.now() + datetime.timedelta(days=1)
Keys = env["res.users.apikeys"].with_user(user)
tokens = {{}}
for name in ("postgres", "redis", "free", "postgres-4", "redis-4"):
    token = Keys._generate(None, name, expiry)
    key = Keys.sudo().browse(Keys._integration_key_id_of(token))
    if name != "free":
        key.integration_policy_id = policy
    tokens[name] = [token, key.id]
admin = env.ref("base.user_admin")
tokens["admin"] = [env["res.users.apikeys"].with_user(admin)._generate(
    None, "bench admin", expiry), None]
env.cr.commit()
print("BENCH-SETUP " + json.dumps({{
    "tokens": tokens,
    "uuid": env["ir.config_parameter"].get_param("database.uuid"),
}}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ig_ratelimit_bench_"))
    conf = _write_config(work)
    server = None
    setup = None
    try:
        _drop_database()
        _say(f"installing integration_gateway into {DB}")
        _odoo(conf, "-i", "integration_gateway", "--stop-after-init")
        setup = _run_setup(conf)
        tokens = setup["tokens"]
        log = work / "odoo.log"
        _say(f"starting Odoo with {args.workers} workers on port {PORT}")
        server = _start_server(conf, log, args.workers)
        _wait_until_up()
        # Every worker loads the registry on its first calls: not measured.
        _burst(tokens["free"][0], 4 * args.workers, args.workers)

        results = {}
        for name, redis_url, concurrency in (
            ("postgres", "", args.concurrency),
            ("redis", REDIS_URL, args.concurrency),
            ("free", "", args.concurrency),
            # One call per worker at a time: the decision without the
            # queueing of an overloaded machine.
            ("postgres-4", "", args.workers),
            ("redis-4", REDIS_URL, args.workers),
        ):
            _set_param(tokens["admin"][0], "integration_gateway.redis_url", redis_url)
            offset = log.stat().st_size
            _say(f"{args.calls} calls, {concurrency} in flight: key {name}")
            started = time.perf_counter()
            calls = _burst(tokens[name][0], args.calls, concurrency)
            elapsed = time.perf_counter() - started
            decisions = _decision_times(log, offset, tokens[name][1])
            results[name] = (calls, elapsed, decisions, concurrency)
        _say("decisions alone, one at a time, from this process")
        alone = _decisions_alone(setup["uuid"])
        _report(results, args)
        _report_alone(alone)
        _report_log(log)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        if setup:
            _forget_redis(setup["uuid"])
        _drop_database()
        shutil.rmtree(work, ignore_errors=True)


def _say(text):
    print(f"==> {text}", file=sys.stderr, flush=True)


def _odoo_tree():
    return Path(Path(sys.prefix, ".odoo_tree").read_text().strip())


def _write_config(work):
    link = REPO / ".build" / "addons" / "integration_gateway"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(REPO)
    conf = work / "odoo.conf"
    conf.write_text(
        "[options]\n"
        f"addons_path = {_odoo_tree() / 'addons'},{link.parent}\n"
        f"data_dir = {work / 'data'}\n"
        f"db_host = {os.environ.get('PGHOST', '127.0.0.1')}\n"
        f"db_port = {os.environ.get('PGPORT', '5432')}\n"
        f"db_user = {os.environ.get('PGUSER', 'root')}\n"
        "http_interface = 127.0.0.1\n"
        f"http_port = {PORT}\n"
        f"gevent_port = {GEVENT_PORT}\n"
    )
    return conf


def _odoo_command(conf, *extra, command=()):
    odoo_bin = str(_odoo_tree() / "odoo-bin")
    return [sys.executable, odoo_bin, *command, "-c", str(conf), "-d", DB, *extra]


def _odoo(conf, *extra):
    subprocess.run(
        _odoo_command(conf, *extra, "--log-level=warn"),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _run_setup(conf):
    done = subprocess.run(
        _odoo_command(conf, "--log-level=warn", "--no-http", command=["shell"]),
        input=SETUP,
        text=True,
        capture_output=True,
        check=True,
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH-SETUP "):
            return json.loads(line.removeprefix("BENCH-SETUP "))
    raise RuntimeError(f"the set-up printed nothing:\n{done.stdout}\n{done.stderr}")


def _start_server(conf, log, workers):
    return subprocess.Popen(
        _odoo_command(
            conf,
            f"--workers={workers}",
            "--max-cron-threads=0",
            f"--db-filter=^{DB}$",
            f"--logfile={log}",
            "--log-level=warn",
            "--log-handler=odoo.addons.integration_gateway.models."
            "integration_rate_limiter:DEBUG",
        )
    )


def _wait_until_up(timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            connection.request("GET", "/web/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("Odoo did not start")


class _NoAnswer:
    """A call that got no HTTP answer (connection reset, ...)."""

    status_code = None
    headers = types.MappingProxyType({})


def _call(token, model="res.partner", method="search_count", body=None):
    started = time.perf_counter()
    try:
        response = _post(token, model, method, body)
    except OSError:
        response = _NoAnswer()
    return response, (time.perf_counter() - started) * 1000


class _Answer:
    def __init__(self, status_code, headers):
        self.status_code = status_code
        self.headers = headers

    def raise_for_status(self):
        if self.status_code != 200:
            raise RuntimeError(f"HTTP {self.status_code}")


def _post(token, model, method, body):
    # http.client rather than requests: 64 client threads in one Python
    # process must leave the CPU to the server being measured.
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    try:
        connection.request(
            "POST",
            f"/json/2/{model}/{method}",
            body=json.dumps(body if body is not None else {"domain": []}),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "X-Odoo-Database": DB,
                "Connection": "close",
            },
        )
        response = connection.getresponse()
        response.read()
        return _Answer(response.status, response.headers)
    finally:
        connection.close()


def _burst(token, calls, concurrency):
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda _i: _call(token), range(calls)))


def _set_param(admin_token, key, value):
    _post(
        admin_token,
        "ir.config_parameter",
        "set_param",
        {"key": key, "value": value or False},
    ).raise_for_status()
    # Every worker reads the parameter again once the cache signal reaches it.
    time.sleep(1)


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


def _report(results, args):
    print()
    print(
        f"{args.calls} JSON/2 calls per key, Odoo with {args.workers} workers, "
        f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}); "
        f"limited keys: {LIMIT}"
    )
    print()
    head = (
        f"{'key':<22}{'flight':>7}{'200':>6}{'429':>6}{'other':>7}{'none':>6}"
        f"{'headers':>9}"
        f"{'calls/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'decision p50':>14}{'p99':>8}{'max':>8}{'n':>6}"
    )
    print(head)
    print("-" * len(head))
    latencies = {}
    for name, (calls, elapsed, decisions, concurrency) in results.items():
        statuses = [response.status_code for response, _ms in calls]
        accepted, refused = statuses.count(200), statuses.count(429)
        limited = name != "free"
        with_headers = sum(
            all(h in response.headers for h in LIMITED_HEADERS)
            and (response.status_code != 429 or "Retry-After" in response.headers)
            for response, _ms in calls
        )
        latencies[name] = [ms for _response, ms in calls]
        label = {
            "postgres": "100/min, PostgreSQL",
            "redis": "100/min, Redis",
            "free": "no limit",
            "postgres-4": "100/min, PostgreSQL",
            "redis-4": "100/min, Redis",
        }[name]
        decision = (
            f"{_percentile(decisions, 0.5):>14.3f}{_percentile(decisions, 0.99):>8.3f}"
            f"{max(decisions):>8.3f}{len(decisions):>6}"
            if decisions
            else f"{'-':>14}{'-':>8}{'-':>8}{0:>6}"
        )
        unanswered = statuses.count(None)
        others = len(statuses) - accepted - refused - unanswered
        print(
            f"{label:<22}{concurrency:>7}{accepted:>6}{refused:>6}{others:>7}"
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
            print(
                f"{'':<22}at most 100 accepted, every other answer 429, every "
                f"answer with headers: {'OK' if ok else 'FAILED'}"
                + (f" ({unanswered} calls got no answer)" if unanswered else "")
            )
    free = statistics.median(latencies["free"])
    print()
    for name in ("postgres", "redis"):
        ratio = statistics.median(latencies[name]) / free
        print(f"median latency {name} / no limit: {ratio:.2f}")
    print(
        "decision = time inside the worker to decide and count one call "
        "(storage round trip included); goal p99 <= 2 ms"
    )


def _load_ratelimit():
    """lib/ratelimit.py, which imports nothing of Odoo."""
    spec = importlib.util.spec_from_file_location(
        "ratelimit", REPO / "lib" / "ratelimit.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _decisions_alone(uuid, count=2000):
    """The decision of the storages the addon uses, measured where nothing
    else competes for the CPU: ``count`` calls one after the other on one
    key, limit never reached."""
    ratelimit = _load_ratelimit()
    limits = ratelimit.parse_limits("1000000/minute; 10000000/hour")
    conn = psycopg2.connect(
        dbname=DB,
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "root"),
    )
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


def _report_alone(timings):
    print()
    print("decision alone (2 limits, usage tally included), one call at a time:")
    for name, times in timings.items():
        print(
            f"  {name:<20} p50 {_percentile(times, 0.5):.3f} ms   "
            f"p99 {_percentile(times, 0.99):.3f} ms   max {max(times):.3f} ms"
        )


def _report_log(log):
    problems = [
        line
        for line in log.read_text(errors="replace").splitlines()
        if re.match(r"^\S+ \S+ \d+ (WARNING|ERROR|CRITICAL) ", line)
    ]
    print()
    print(f"Odoo log: {len(problems)} warnings or errors")
    for line in problems[:10]:
        print(f"  {line[:200]}")


def _forget_redis(uuid):
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"integration_gateway:{uuid}:*"):
            client.delete(key)
    finally:
        client.close()


def _drop_database():
    conn = psycopg2.connect(
        dbname="postgres",
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "root"),
    )
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(DB)
            )
        )
    conn.close()


if __name__ == "__main__":
    main()
