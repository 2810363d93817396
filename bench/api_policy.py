"""JSON/2 latency with a policy key against a plain key, side by side.

Builds databases on the local PostgreSQL: one with integration_gateway and
a key under a read-only policy (rules, networks), a copy of it without the
guard against key guessing, and one with only Odoo's ``base_automation``
and ``rpc`` and a key without any policy. It then starts ONE Odoo server on
127.0.0.1, chooses the database of each request with the
``X-Odoo-Database`` header, and times the same ``search_read`` on each,
interleaved so that all see the same machine load. Prints the medians and
their ratios to the plain database, then stops the server and drops the
databases.

    ~/.cache/integration_gateway/venv/bin/python bench/api_policy.py [--calls N]
        [--port P] [--keep]

``--keep`` leaves the databases for the next run (they are reused).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("IG_VENV", Path.home() / ".cache/integration_gateway/venv"))
PYTHON = VENV / "bin" / "python"
ODOO_TREE = Path((VENV / ".odoo_tree").read_text().strip())

DB_ADDON = "ig_policies_bench_addon"
DB_PLAIN = "ig_policies_bench_plain"
# A copy of the addon database without the guard against API key guessing
# (failed authentications per address), to tell the cost of the policy
# check from the cost of that guard, which asks the rate-limit storage on
# every Bearer request.
DB_NO_GUARD = "ig_policies_bench_noguard"
GUARD_PARAM = "integration_gateway.auth_failure_limit"
PARTNERS = 200  # rows in each database, so that search_read does real work
WARMUP = 30  # calls per database before timing
SEARCH = {
    "domain": [["is_company", "=", True]],
    "fields": ["name", "email", "city"],
    "limit": 20,
}

# Runs inside each database (python of the venv, odoo importable): a key for
# the administrator and some partners; under a policy in the addon database.
SETUP_SCRIPT = """
import sys
import odoo
from odoo import api, SUPERUSER_ID
from odoo.modules.registry import Registry

conf, db, with_policy, partners = sys.argv[1:5]
with_policy, partners = with_policy == "1", int(partners)
odoo.tools.config.parse_config(["-c", conf])
with Registry(db).cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["res.partner"].create([
        {"name": f"Company {i}", "is_company": True, "email": f"c{i}@example.com",
         "city": "Brussels"} for i in range(partners)
    ])
    admin = env.ref("base.user_admin")
    ApiKeys = env["res.users.apikeys"].with_user(admin)
    token = ApiKeys._generate(None, "bench", None)
    if with_policy:
        policy = env["integration.api.policy"].create({
            "name": "Bench read-only partners",
            "read_only": True,
            "allowed_networks": "127.0.0.0/8, ::1",
            "rule_ids": [
                (0, 0, {"model_pattern": "res.partner*, res.country*",
                        "method_pattern": "search*, read, fields_get"}),
                (0, 0, {"model_pattern": "*", "method_pattern": "unlink",
                        "effect": "deny"}),
            ],
        })
        key = ApiKeys.sudo().browse(ApiKeys._integration_key_id_of(token))
        key.write({"integration_policy_id": policy.id})
    print(token)
"""


def pg_params():
    return {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "5432"),
        "user": os.environ.get("PGUSER", os.environ.get("USER", "root")),
    }


def database_exists(name):
    conn = psycopg2.connect(dbname="postgres", **pg_params())
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return bool(cr.fetchone())
    finally:
        conn.close()


def copy_without_guard(source, target):
    conn = psycopg2.connect(dbname="postgres", **pg_params())
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        cr.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    conn.close()
    conn = psycopg2.connect(dbname=target, **pg_params())
    with conn, conn.cursor() as cr:
        cr.execute("DELETE FROM ir_config_parameter WHERE key = %s", [GUARD_PARAM])
    conn.close()


def drop_database(name):
    conn = psycopg2.connect(dbname="postgres", **pg_params())
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def write_config(workdir, port):
    addons = workdir / "addons"
    addons.mkdir()
    (addons / "integration_gateway").symlink_to(ROOT)
    pg = pg_params()
    conf = workdir / "odoo.conf"
    conf.write_text(
        "[options]\n"
        f"addons_path = {ODOO_TREE / 'addons'},{addons}\n"
        f"data_dir = {workdir / 'data'}\n"
        f"db_host = {pg['host']}\ndb_port = {pg['port']}\ndb_user = {pg['user']}\n"
        "http_interface = 127.0.0.1\n"
        f"http_port = {port}\n"
        "max_cron_threads = 0\n"
        "db_filter = ^ig_policies_bench_\n"
        "log_level = warn\n"
    )
    return conf


def odoo(conf, *args, **kwargs):
    return subprocess.Popen(
        [str(PYTHON), str(ODOO_TREE / "odoo-bin"), "-c", str(conf), *args], **kwargs
    )


def build(conf, workdir, db, modules):
    log = workdir / f"{db}.log"
    with open(log, "w") as out:
        proc = odoo(
            conf, "-d", db, "-i", modules, "--stop-after-init", stdout=out, stderr=out
        )
    return proc, log


def setup_database(conf, db, with_policy):
    result = subprocess.run(
        [
            str(PYTHON),
            "-c",
            SETUP_SCRIPT,
            str(conf),
            db,
            "1" if with_policy else "0",
            str(PARTNERS),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def wait_for_server(base, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/web/version", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.5)
    raise RuntimeError("the Odoo server did not start")


def call(session, base, db, token):
    start = time.perf_counter()
    response = session.post(
        f"{base}/json/2/res.partner/search_read",
        json=SEARCH,
        headers={"Authorization": f"Bearer {token}", "X-Odoo-Database": db},
        timeout=30,
    )
    elapsed = time.perf_counter() - start
    if response.status_code != 200 or len(response.json()) != SEARCH["limit"]:
        raise RuntimeError(f"{db}: {response.status_code} {response.text[:300]}")
    return elapsed


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--calls", type=int, default=400, help="timed calls per database"
    )
    parser.add_argument("--port", type=int, default=18210)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="ig_policies_bench_") as tmp:
        workdir = Path(tmp)
        conf = write_config(workdir, args.port)
        tokens, builds = {}, []
        for db, modules, with_policy in (
            (DB_ADDON, "integration_gateway", True),
            (DB_PLAIN, "base_automation,rpc", False),
        ):
            kept = ROOT / ".build" / f"{db}.token"
            if args.keep and kept.exists() and database_exists(db):
                tokens[db] = kept.read_text()
                continue
            drop_database(db)
            print(f"building {db} ({modules}) ...", flush=True)
            builds.append((db, with_policy, *build(conf, workdir, db, modules)))
        for db, with_policy, proc, log in builds:
            if proc.wait():
                sys.exit(f"installing {db} failed:\n{log.read_text()[-3000:]}")
            tokens[db] = setup_database(conf, db, with_policy)
            if args.keep:
                (ROOT / ".build").mkdir(exist_ok=True)
                (ROOT / ".build" / f"{db}.token").write_text(tokens[db])
        copy_without_guard(DB_ADDON, DB_NO_GUARD)
        tokens[DB_NO_GUARD] = tokens[DB_ADDON]

        base = f"http://127.0.0.1:{args.port}"
        server_log = open(workdir / "server.log", "w")  # noqa: SIM115
        server = odoo(conf, "--workers=0", stdout=server_log, stderr=server_log)
        try:
            wait_for_server(base)
            timings = {DB_ADDON: [], DB_NO_GUARD: [], DB_PLAIN: []}
            with requests.Session() as session:
                for _i in range(WARMUP):
                    for db in timings:
                        call(session, base, db, tokens[db])
                for i in range(args.calls):
                    # rotate which goes first so that none gains from order
                    order = list(timings)
                    for db in order[i % 3 :] + order[: i % 3]:
                        timings[db].append(call(session, base, db, tokens[db]))
        finally:
            server.terminate()
            server.wait(timeout=30)
            server_log.close()
            drop_database(DB_NO_GUARD)
            if not args.keep:
                for db in (DB_ADDON, DB_PLAIN):
                    drop_database(db)
                    (ROOT / ".build" / f"{db}.token").unlink(missing_ok=True)

    def ms(values, q):
        return statistics.quantiles(values, n=100)[q - 1] * 1000

    print(f"JSON/2 res.partner/search_read, {args.calls} timed calls per database,")
    print("one Odoo server (threaded), interleaved requests, keep-alive session")
    print(f"{'':28} {'median':>9} {'p90':>9}")
    for label, db in (
        ("policy key, with addon", DB_ADDON),
        ("same, without guessing guard", DB_NO_GUARD),
        ("plain key, without addon", DB_PLAIN),
    ):
        median = statistics.median(timings[db]) * 1000
        print(f"{label:28} {median:7.2f}ms {ms(timings[db], 90):7.2f}ms")
    plain = statistics.median(timings[DB_PLAIN])
    ratio = statistics.median(timings[DB_ADDON]) / plain
    print(f"ratio of medians (addon / plain): {ratio:.2f}")
    print("required <= 1.05, goal <= 0.70")
    ratio = statistics.median(timings[DB_NO_GUARD]) / plain
    print(f"ratio of medians (addon without guessing guard / plain): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
