"""Queued outgoing webhooks, measured on a real Odoo server with cron threads.

    ~/.cache/integration_gateway/venv/bin/python bench/outgoing_dispatch.py

Builds a database (``ig_outgoing_bench``, dropped at the end), starts Odoo on
port 18100 and a receiver on 127.0.0.1:18101, then measures, in one run:

1. dispatch throughput: a backlog of queued deliveries drained by one
   dispatcher on one cron thread, then by two dispatchers on two cron
   threads (deliveries per second, and per dispatcher), to a receiver that
   answers at once and to one that takes 20 ms per answer;
2. first-attempt delay: partners created one at a time through JSON/2, each
   queuing a webhook through an automation; the delay runs from the moment
   the request was sent (so it includes the request itself and its commit)
   to the webhook's arrival. Odoo's own immediate webhook, measured the same
   way on tags, is printed beside it;
3. an outage: partners and tags created while the receiver answers 503, then
   the receiver comes back: how many webhooks of each kind arrive.

Options: ``--deliveries N`` (backlog per throughput run, default 5000),
``--events N`` (created records per delay run, default 100),
``--outage-events N`` (default 20), ``--keep-db``.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ODOO_TREE = Path(sys.prefix, ".odoo_tree").read_text().strip()
ADDONS = f"{ODOO_TREE}/addons,{ROOT}/.build/addons"
DB = "ig_outgoing_bench"
HTTP_PORT = 18100
RECEIVER_PORT = 18101
SLOW_ANSWER = 0.020  # seconds the slow receiver takes to answer
PG = {
    "host": os.environ.get("PGHOST", "127.0.0.1"),
    "port": os.environ.get("PGPORT", "5432"),
    "user": os.environ.get("PGUSER", os.environ.get("USER", "odoo")),
}


# -- the receiver -----------------------------------------------------------


class Receiver(ThreadingHTTPServer):
    """Answers 200 to every POST and notes when each event arrived; while
    ``down``, answers 503 and notes nothing, like a receiver in an outage."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self):
        super().__init__(("127.0.0.1", RECEIVER_PORT), _Handler)
        self.lock = threading.Lock()
        self.arrivals = {}  # event key -> time.time() of arrival
        self.count = 0
        self.down = False

    def reset(self):
        with self.lock:
            self.arrivals.clear()
            self.count = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's
    # algorithm holds the body until the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        now = time.time()
        if self.path == "/slow":
            time.sleep(SLOW_ANSWER)
        if self.server.down:
            self.send_response(503)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no")
            return
        payload = json.loads(body)
        key = payload.get("name") or payload.get("n")
        with self.server.lock:
            self.server.arrivals.setdefault(key, now)
            self.server.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format, *args):
        pass


# -- Odoo --------------------------------------------------------------------


def odoo_config(workdir):
    path = Path(workdir, "odoo-bench.conf")
    path.write_text(
        "[options]\n"
        f"addons_path = {ADDONS}\n"
        f"data_dir = {workdir}/data\n"
        f"db_host = {PG['host']}\ndb_port = {PG['port']}\ndb_user = {PG['user']}\n"
        f"http_interface = 127.0.0.1\nhttp_port = {HTTP_PORT}\n"
        f"db_filter = ^{DB}$\nlist_db = False\n"
    )
    return str(path)


def odoo(conf, *args, command=(), stdin=None):
    cmd = [PYTHON, f"{ODOO_TREE}/odoo-bin", *command, "-c", conf, "-d", DB, *args]
    done = subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def shell(conf, code):
    """Runs ``code`` in an Odoo shell on the bench database and commits."""
    return odoo(
        conf, "--log-level=warn", command=["shell"], stdin=code + "\nenv.cr.commit()\n"
    )


def drop_database():
    conn = psycopg2.connect(dbname="postgres", **PG)
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(DB)
            )
        )
    conn.close()


class Server:
    """Odoo in threaded mode with ``cron_threads`` cron threads."""

    def __init__(self, conf, cron_threads, workdir):
        self.log = open(Path(workdir, f"odoo-{cron_threads}.log"), "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [PYTHON, f"{ODOO_TREE}/odoo-bin", "-c", conf, "-d", DB,
             f"--max-cron-threads={cron_threads}", "--workers=0", "--log-level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{HTTP_PORT}/web/health", timeout=2
                ) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("Odoo did not start; see " + self.log.name)

    def stop(self):
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# -- measurements ------------------------------------------------------------

SETUP = """
endpoint = env["integration.webhook.endpoint"].create({
    "name": "bench receiver", "url": "http://127.0.0.1:%(port)d/ok",
    "allow_private_network": True,
})
def automation(model, mode):
    model = env["ir.model"]._get(model)
    rule = env["base.automation"].create({
        "name": "bench " + mode, "model_id": model.id, "trigger": "on_create"})
    action = env["ir.actions.server"].create({
        "name": "bench " + mode, "base_automation_id": rule.id, "model_id": model.id,
        "usage": "base_automation", "state": "webhook",
        "webhook_url": "http://127.0.0.1:%(port)d/ok", "webhook_delivery_mode": mode,
        "webhook_field_ids": [(6, 0, env["ir.model.fields"].search(
            [("model", "=", model.model), ("name", "=", "name")]).ids)],
    })
    rule.action_server_ids = [(6, 0, action.ids)]
automation("res.partner", "queued")
automation("res.partner.category", "immediate")
admin = env.ref("base.user_admin")
print("KEY=" + env["res.users.apikeys"].with_user(admin)._generate(None, "bench", None))
"""

BACKLOG = """
env["integration.webhook.dispatcher"]._sync_crons(%(dispatchers)d)
endpoint = env["integration.webhook.endpoint"].search([("name", "=", "bench receiver")])
endpoint.url = "http://127.0.0.1:%(port)d%(path)s"
payload = '{"_action": "bench(#0)", "_id": %%d, "_model": "res.partner", "n": %%d, ' \\
          '"email": "someone@example.com", "city": "Namur", "street": "Rue de Fer 12"}'
env["integration.webhook.delivery"].create([
    {"endpoint_id": endpoint.id, "payload": payload %% (n, n)}
    for n in range(%(count)d)
])
env["integration.webhook.dispatcher"]._wake()
"""


def throughput(conf, receiver, dispatchers, path, count):
    """Queues ``count`` deliveries to ``path`` of the receiver while the
    server runs, and measures from the first arrival to the last."""
    receiver.reset()
    values = {"dispatchers": dispatchers, "count": count}
    shell(conf, BACKLOG % {**values, "port": RECEIVER_PORT, "path": path})
    deadline = time.monotonic() + 600
    while receiver.count < count and time.monotonic() < deadline:
        time.sleep(0.05)
    if receiver.count < count:
        raise RuntimeError(f"only {receiver.count} of {count} deliveries arrived")
    times = sorted(receiver.arrivals.values())
    rate = (count - 1) / (times[-1] - times[0])
    return {
        **values,
        "path": path,
        "rate": rate,
        "per_dispatcher": rate / dispatchers,
        "duplicates": receiver.count - len(receiver.arrivals),
    }


def create_records(key, model, events):
    """Creates ``events`` records through JSON/2, one at a time; returns
    {name: time.time() the request was sent}."""
    sent = {}
    for n in range(events):
        name = f"{model} {n} {time.time()}"
        body = json.dumps({"vals_list": [{"name": name}]}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{HTTP_PORT}/json/2/{model}/create",
            data=body,
            headers={
                "Authorization": f"bearer {key}",
                "Content-Type": "application/json",
            },
        )
        sent[name] = time.time()
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        time.sleep(0.05)
    return sent


def first_attempt_delays(receiver, key, model, events):
    """Creates ``events`` records through JSON/2, one at a time; returns the
    delay of each record's webhook, from request to arrival (seconds)."""
    receiver.reset()
    sent = create_records(key, model, events)
    deadline = time.monotonic() + 120
    while len(receiver.arrivals) < events and time.monotonic() < deadline:
        time.sleep(0.05)
    return [
        receiver.arrivals[name] - at
        for name, at in sent.items()
        if name in receiver.arrivals
    ]


def outage(receiver, key, events):
    """Creates ``events`` partners (queued webhooks) and as many tags (Odoo's
    immediate webhooks) while the receiver answers 503, then brings it back.
    Returns how many of each arrived, and how long after the receiver came
    back the last queued one did."""
    receiver.reset()
    receiver.down = True
    queued = create_records(key, "res.partner", events)
    immediate = create_records(key, "res.partner.category", events)
    time.sleep(1)
    receiver.down = False
    back = time.time()
    # Retries are due 5 s later; a dispatcher cron sends them at its next
    # run (every minute, or sooner when woken).
    deadline = time.monotonic() + 150
    while (
        sum(name in receiver.arrivals for name in queued) < events
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    time.sleep(2)  # immediate webhooks are never retried: nothing more comes
    arrived = [receiver.arrivals[name] for name in queued if name in receiver.arrivals]
    return {
        "queued": len(arrived),
        "immediate": sum(name in receiver.arrivals for name in immediate),
        "recovered_in": max(arrived) - back if arrived else None,
    }


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(args, results, queued, immediate, lost):
    print()
    print(f"Dispatch throughput, {args.deliveries} queued deliveries per run")
    for path, label in (("/ok", "answering at once"), ("/slow", "answering in 20 ms")):
        one, two = (r for r in results if r["path"] == path)
        print(f"  receiver {label}:")
        for r in (one, two):
            print(
                f"    {r['dispatchers']} dispatcher(s) on {r['dispatchers']} cron "
                f"thread(s): {r['rate']:6.0f} deliveries/s "
                f"({r['per_dispatcher']:.0f} per dispatcher), "
                f"{r['duplicates']} sent twice"
            )
        print(f"    2 dispatchers / 1 dispatcher: x{two['rate'] / one['rate']:.2f}")
    print()
    print(
        f"First-attempt delay, {args.events} events, request sent -> webhook received"
    )
    for label, delays in (
        ("queued (this addon)", queued),
        ("immediate (Odoo)", immediate),
    ):
        print(
            f"  {label:20} p50 {statistics.median(delays) * 1000:6.0f} ms   "
            f"p95 {percentile(delays, 0.95) * 1000:6.0f} ms   "
            f"max {max(delays) * 1000:6.0f} ms   ({len(delays)}/{args.events} arrived)"
        )
    ratio = percentile(queued, 0.95) / percentile(immediate, 0.95)
    print(f"  queued p95 / immediate p95: x{ratio:.1f}")
    print()
    events = args.outage_events
    print(f"Receiver down (503) while {events} events of each kind happen, then up")
    print(
        f"  queued (this addon)  {lost['queued']}/{events} delivered, the last "
        f"{lost['recovered_in']:.1f} s after the receiver came back"
    )
    print(f"  immediate (Odoo)     {lost['immediate']}/{events} delivered")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--outage-events", type=int, default=20)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)

    if not Path(ROOT, ".build/addons/integration_gateway").exists():
        subprocess.run([str(ROOT / "tools/setup.sh")], check=True)
    workdir = tempfile.mkdtemp(prefix="ig_outgoing_bench_")
    conf = odoo_config(workdir)
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    server = None
    try:
        print(f"creating database {DB} ...", flush=True)
        drop_database()
        odoo(conf, "-i", "integration_gateway", "--stop-after-init", "--log-level=warn")
        key = next(
            line[4:]
            for line in shell(conf, SETUP % {"port": RECEIVER_PORT}).splitlines()
            if line.startswith("KEY=")
        )
        results = []
        for dispatchers in (1, 2):
            server = Server(conf, dispatchers, workdir)
            # /ok last: the delay measurements below use the endpoint as left.
            for path in ("/slow", "/ok"):
                print(
                    f"throughput: {dispatchers} dispatcher(s), {path} ...", flush=True
                )
                results.append(
                    throughput(conf, receiver, dispatchers, path, args.deliveries)
                )
            if dispatchers == 1:
                server.stop()
                server = None
        print("first-attempt delay ...", flush=True)
        queued = first_attempt_delays(receiver, key, "res.partner", args.events)
        immediate = first_attempt_delays(
            receiver, key, "res.partner.category", args.events
        )
        print("receiver outage ...", flush=True)
        lost = outage(receiver, key, args.outage_events)
    finally:
        if server:
            server.stop()
        receiver.shutdown()
        if not args.keep_db:
            drop_database()
            shutil.rmtree(workdir, ignore_errors=True)
    report(args, results, queued, immediate, lost)


if __name__ == "__main__":
    main()
