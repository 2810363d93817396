"""JSON/2 latency with a policy key against a plain key, side by side.

Three databases on one Odoo server: one with integration_gateway and a key
under a read-only policy (rules, networks), a second one like it without the
guard against key guessing, and one with only Odoo's ``base_automation``
and ``rpc`` and a key without any policy. The same ``search_read`` is timed
on each, interleaved so that all see the same machine load (the database is
chosen per request with ``X-Odoo-Database``). Prints the medians and their
ratios to the plain database.

    ~/.cache/integration_gateway/venv/bin/python bench/api_policy.py [--calls N]

``bench/run_all.py`` runs it with every other benchmark on one server.
"""

import statistics
import sys
import time

import requests
from context import ADDON_DB, CORE_DB, FIXTURES, Database, Figure, Report, run_alone

NO_GUARD_DB = Database("ig_bench_noguard", "addon")
DATABASES = [ADDON_DB, NO_GUARD_DB, CORE_DB]
# The guard against API key guessing (failed authentications per address)
# asks the rate-limit storage on every Bearer request; the database without
# it tells the cost of the policy check from the cost of the guard.
GUARD_PARAM = "integration_gateway.auth_failure_limit"
PARTNERS = 200  # rows in each database, so that search_read does real work
WARMUP = 60  # calls per database before timing: every worker caches the key
REQUIRED = 1.05  # ratio of medians, policy key with the addon / plain key
GOAL = 0.70
SEARCH = {
    "domain": [["is_company", "=", True]],
    "fields": ["name", "email", "city"],
    "limit": 20,
}

# A key for the administrator and some partners; under a policy in the
# addon's databases.
SETUP_SCRIPT = FIXTURES / "api_policy_key.py"

# Smaller counts for a quick check that the benchmark works (--quick).
QUICK = {"calls": 100}


def add_arguments(parser):
    parser.add_argument(
        "--calls", type=int, default=400, help="timed calls per database"
    )


def prepare(bench, options):
    tokens = {}
    for db in DATABASES:
        tokens[db.name] = bench.run_script(
            db.name, SETUP_SCRIPT, db.template == "addon", PARTNERS
        )
    bench.sql(
        NO_GUARD_DB.name,
        "DELETE FROM ir_config_parameter WHERE key = %s",
        [GUARD_PARAM],
    )
    return tokens


def _call(bench, session, db, token):
    start = time.perf_counter()
    response = bench.json2(db, token, "res.partner", "search_read", SEARCH, session)
    elapsed = time.perf_counter() - start
    if response.status_code != 200 or len(response.json()) != SEARCH["limit"]:
        raise RuntimeError(f"{db}: {response.status_code} {response.text[:300]}")
    return elapsed


def measure(bench, tokens, options):
    names = [db.name for db in DATABASES]
    timings = {name: [] for name in names}
    with requests.Session() as session:
        for _i in range(WARMUP):
            for name in names:
                _call(bench, session, name, tokens[name])
        for i in range(options.calls):
            # Rotate which goes first so that none gains from the order.
            for name in names[i % 3 :] + names[: i % 3]:
                timings[name].append(_call(bench, session, name, tokens[name]))

    def ms(values, q):
        return statistics.quantiles(values, n=100)[q - 1] * 1000

    report = Report("API key policies: JSON/2 search_read latency")
    report.lines.append(
        f"{options.calls} timed calls per database, interleaved, one at a time"
    )
    report.lines.append(f"{'':32} {'median':>9} {'p90':>9}")
    for label, db in (
        ("policy key, with the addon", ADDON_DB.name),
        ("same, without guessing guard", NO_GUARD_DB.name),
        ("plain key, without the addon", CORE_DB.name),
    ):
        median = statistics.median(timings[db]) * 1000
        report.lines.append(f"{label:32} {median:7.2f}ms {ms(timings[db], 90):7.2f}ms")
    plain = statistics.median(timings[CORE_DB.name])
    ratio = statistics.median(timings[ADDON_DB.name]) / plain
    bare = statistics.median(timings[NO_GUARD_DB.name]) / plain
    report.lines.append(
        f"ratio of medians to the plain key: {ratio:.2f} (addon as installed), "
        f"{bare:.2f} (without the guessing guard); required <= {REQUIRED}, "
        f"goal <= {GOAL}"
    )
    report.figures += [
        Figure(
            "JSON/2 with a policy key / plain key without the addon (median)",
            ratio,
            goal=f"<= {GOAL:.2f} (required <= {REQUIRED:.2f})",
            met=ratio <= GOAL,
        ),
        Figure("  same, without the guard against key guessing", bare),
    ]
    return report


def main(argv=None):
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
