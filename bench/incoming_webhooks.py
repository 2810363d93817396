"""What a validator costs an incoming webhook, end to end.

"On webhook" automations doing the same work (find a partner, write on it)
run on one Odoo server: one without a validator, as in core, and one whose
validator checks a Standard Webhooks signature and its timestamp, the size,
the content type, the source network, a JSON Schema and replays; three more
validators check part of that, to show what each check costs. The same 1 KB
JSON body is posted to each, in turn, one call at a time, and the latencies
are compared side by side::

    ~/.cache/integration_gateway/venv/bin/python bench/incoming_webhooks.py

Options: ``--calls N`` (per automation, default 1000), ``--port`` (default
8369, or IG_BENCH_PORT), ``--db`` (default ig_incoming_bench, created for
the run and dropped after). PostgreSQL is found as the project's commands
find it (PGHOST, PGPORT, PGUSER; else 127.0.0.1:5432).
"""

import argparse
import getpass
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2
import requests
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("IG_VENV", Path.home() / ".cache/integration_gateway/venv"))
PYTHON = VENV / "bin" / "python"
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
SETUP = """
import json, os
from odoo.addons.integration_gateway.lib import standard_webhooks
data = json.loads(os.environ["IG_BENCH_DATA"])
partner = env["res.partner"].create({"name": "Bench", "ref": "BENCH-1"})
model = env["ir.model"]._get("res.partner")
secret = standard_webhooks.generate_secret()
validator = env["integration.webhook.validator"].create({
    "name": "Bench",
    "signature_scheme": "standard_webhooks",
    "secret": secret,
    "json_schema": json.dumps(data["schema"]),
    "max_body_bytes": 64 * 1024,
    "allowed_content_types": "application/json",
    "allowed_networks": "127.0.0.0/8, ::1",
    "replay_protection": True,
})
validators = {"plain": False, "validated": validator.id}
for name, values in (
    ("signed", {"json_schema": False, "replay_protection": False}),
    ("schema", {"replay_protection": False}),
    ("replay", {"json_schema": False}),
):
    validators[name] = validator.copy({"name": name, "secret": secret, **values}).id
uuids = {}
for name, validator_id in validators.items():
    automation = env["base.automation"].create({
        "name": "Bench " + name,
        "model_id": model.id,
        "trigger": "on_webhook",
        "record_getter": "model.search([('ref', '=', payload['ref'])], limit=1)",
        "webhook_validator_id": validator_id,
    })
    automation.action_server_ids = env["ir.actions.server"].create({
        "name": "Count",
        "model_id": model.id,
        "base_automation_id": automation.id,
        "usage": "base_automation",
        "state": "code",
        "code": "record.write({'color': record.color + 1})",
    })
    uuids[name] = automation.webhook_uuid
env.cr.commit()
print("BENCH " + json.dumps({"uuids": uuids, "secret": secret}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("IG_BENCH_PORT", "8369"))
    )
    parser.add_argument("--db", default="ig_incoming_bench")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "lib"))
    import standard_webhooks  # the addon's ORM-free module, without Odoo

    with tempfile.TemporaryDirectory(prefix="ig_bench_") as tmp:
        conf = _odoo_config(Path(tmp), args.port)
        _drop(args.db)
        try:
            print(f"Installing the addon in database {args.db}...", flush=True)
            _odoo(conf, args.db, "-i", "integration_gateway", "--stop-after-init")
            setup = _setup(conf, args.db)
            server = subprocess.Popen(
                [
                    *_odoo_command(conf, args.db),
                    "--workers=0",
                    "--max-cron-threads=0",
                    f"--db-filter=^{args.db}$",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                base = f"http://127.0.0.1:{args.port}"
                _wait_for(base)
                results = _measure(base, setup, args.calls, standard_webhooks)
            finally:
                server.terminate()
                server.wait(30)
        finally:
            _drop(args.db)
    _report(results, args.calls)


def _measure(base, setup, calls, standard_webhooks):
    body = _body()
    session = requests.Session()
    secret = setup["secret"]
    timings = {name: [] for name in VARIANTS}

    def call(name, index):
        headers = {"Content-Type": "application/json"}
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
            raise SystemExit(
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
    print(f"\n{calls} calls each, 1 KB JSON body, one at a time, same server\n")
    print(f"{'':42}{'median':>10}{'mean':>10}{'p90':>10}{'ratio':>8}{'extra':>10}")
    for name, label in VARIANTS.items():
        values = timings[name]
        ratio = statistics.median(values) / statistics.median(plain)
        extra = statistics.median(values) - statistics.median(plain)
        print(
            f"{label:42}{_ms(statistics.median(values)):>10}"
            f"{_ms(statistics.fmean(values)):>10}"
            f"{_ms(statistics.quantiles(values, n=10)[-1]):>10}"
            f"{ratio:>8.3f}{_ms(extra):>10}"
        )
    validated = timings["validated"]
    print(
        "\nratio signed + schema-checked / core: median "
        f"{statistics.median(validated) / statistics.median(plain):.3f}, mean "
        f"{statistics.fmean(validated) / statistics.fmean(plain):.3f}"
    )


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


# Odoo and PostgreSQL --------------------------------------------------------------


def _pg():
    return {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "5432"),
        "user": os.environ.get("PGUSER", getpass.getuser()),
    }


def _drop(db):
    conn = psycopg2.connect(dbname="postgres", **_pg())
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(db)
            )
        )
    conn.close()


def _odoo_config(tmp, port):
    tree = (VENV / ".odoo_tree").read_text().strip()
    addons = tmp / "addons"
    addons.mkdir()
    # Odoo finds the addon under its technical name, whatever the checkout's.
    (addons / "integration_gateway").symlink_to(ROOT)
    pg = _pg()
    conf = tmp / "odoo.conf"
    conf.write_text(
        "[options]\n"
        f"addons_path = {tree}/addons,{addons}\n"
        f"data_dir = {tmp}/data\n"
        f"db_host = {pg['host']}\n"
        f"db_port = {pg['port']}\n"
        f"db_user = {pg['user']}\n"
        "http_interface = 127.0.0.1\n"
        f"http_port = {port}\n"
        f"logfile = {tmp}/odoo.log\n"
        "log_level = warn\n"
    )
    return conf


def _odoo_command(conf, db):
    tree = (VENV / ".odoo_tree").read_text().strip()
    return [str(PYTHON), f"{tree}/odoo-bin", "-c", str(conf), "-d", db]


def _odoo(conf, db, *args):
    subprocess.run([*_odoo_command(conf, db), *args], check=True)


def _setup(conf, db):
    tree = (VENV / ".odoo_tree").read_text().strip()
    script = conf.parent / "setup.py"
    script.write_text(SETUP)
    output = subprocess.run(
        [
            str(PYTHON),
            f"{tree}/odoo-bin",
            "shell",
            "-c",
            str(conf),
            "-d",
            db,
            "--no-http",
        ],
        input=f"exec(open({str(script)!r}).read())\n",
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "IG_BENCH_DATA": json.dumps({"schema": SCHEMA})},
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    return json.loads(line[len("BENCH ") :])


def _wait_for(base, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/web/login", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.3)
    raise SystemExit(f"Odoo did not answer on {base} within {timeout} s")


if __name__ == "__main__":
    main()
