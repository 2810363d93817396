"""Every benchmark of this folder on ONE Odoo server, and one table.

    make bench
    ~/.cache/integration_gateway/venv/bin/python bench/run_all.py [--reuse]

Builds the databases once (a template with this addon and one with only
``base_automation,rpc``, copied for each database a benchmark needs), starts
one Odoo server with 4 worker processes and 2 cron workers serving all of
them (each request names its database with ``X-Odoo-Database``), runs every
benchmark module against it one after the other, and prints what each
measured, then one table: figure, value, goal, met or not. Within each
benchmark the compared variants are measured side by side, interleaved, so
that whatever else loads the machine loads them alike.

``--reuse`` keeps the templates for the next run (rebuilt when the addon's
code changed); ``--keep`` keeps the run's databases; ``--quick`` runs
smaller counts (a check that everything works, not figures to quote);
``--only NAME`` runs some benchmarks only.
"""

import argparse
import importlib
import sys
import time
import traceback

import context

# The benchmark modules, in the order they run; the claim query's million
# rows come last, so that they weigh on no other measurement.
MODULES = [
    "api_policy",
    "incoming_webhooks",
    "incoming_queue",
    "ratelimit",
    "webhook_overhead",
    "event_fanout",
    "outgoing_dispatch",
    "metrics_scrape",
    "claim_query",
]


def _options(module, quick):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    options = parser.parse_args([])
    if quick:
        for name, value in getattr(module, "QUICK", {}).items():
            setattr(options, name, value)
    return options


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    context.common_arguments(parser)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", action="append", choices=MODULES)
    args = parser.parse_args(argv)

    modules = [importlib.import_module(name) for name in args.only or MODULES]
    databases = {}
    for module in modules:
        for db in module.DATABASES:
            databases.setdefault(db.name, db)
    options = {module: _options(module, args.quick) for module in modules}
    reports, failures, durations = [], [], {}
    started = time.monotonic()
    started_at = time.gmtime()
    with context.Bench(
        databases.values(),
        workers=args.workers,
        cron_workers=args.cron_workers,
        reuse=args.reuse,
        keep=args.keep,
    ) as bench:
        bench.build()
        states = {}
        for module in modules:
            context.say(f"preparing {module.__name__}")
            states[module] = module.prepare(bench, options[module])
        bench.start()
        for module in modules:
            context.say(f"measuring {module.__name__}")
            began = time.monotonic()
            try:
                report = module.measure(bench, states[module], options[module])
            except Exception:  # noqa: BLE001 (the other benchmarks still run)
                failures.append((module.__name__, traceback.format_exc()))
                continue
            finally:
                durations[module.__name__] = time.monotonic() - began
            report.print()
            reports.append(report)
        problems = bench.server.problems()

    print()
    for name, trace in failures:
        print(f"== {name} FAILED\n{trace}")
    print(
        f"\nAll benchmarks on one server, {args.workers} workers and "
        f"{args.cron_workers} cron workers, in {time.monotonic() - started:.0f} s "
        f"({', '.join(f'{n} {s:.0f} s' for n, s in durations.items())})"
    )
    print(context.machine())
    print(f"Odoo log: {len(problems)} warnings or errors")
    for line in problems[:10]:
        print(f"  {line[:200]}")
    print()
    figures = [figure for report in reports for figure in report.figures]
    context.print_table(figures)
    if not (failures or args.quick or args.only):
        seconds = time.monotonic() - started
        context.write_readme(figures, started_at, seconds, context.machine(dated=False))
        context.say(f"figures written to {context.README.relative_to(context.ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
