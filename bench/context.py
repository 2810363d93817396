"""What the benchmarks share: databases, one Odoo server, and the table of
figures they report.

A benchmark module in this folder declares the databases it works on
(``DATABASES``), creates its data in ``prepare(bench)`` and measures against
the running server in ``measure(bench, state, options)``, which returns a
``Report``. ``bench/run_all.py`` runs every module on ONE server; each
module's ``main()`` runs it alone through ``run_alone``.

Databases are copies of two templates, built once per run, or kept between
runs with ``--reuse`` (and rebuilt when the addon's code changed): one with
this addon installed, one with only what it depends on
(``base_automation,rpc``), as Odoo is without it. The server serves exactly
the databases of the run, chosen per request with ``X-Odoo-Database``.
"""

import argparse
import hashlib
import os
import platform
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
# lib/ imports nothing beyond itself: ``from lib import ...`` without Odoo.
# Appended, so that the addon's other folders never shadow a package.
sys.path.append(str(ROOT))

import harness  # the project's tools are not a package

# The fixtures the benchmarks run against their databases (harness.run_script).
FIXTURES = ROOT / "bench" / "fixtures"

TEMPLATES = {
    "addon": ("ig_bench_template_addon", harness.ADDON),
    "core": ("ig_bench_template_core", "base_automation,rpc"),
}
# The log of the benchmarks' server, kept for a look after the run.
SERVER_LOG = ROOT / ".build" / "bench-server.log"
# Odoo's data folder of the benchmarks: the filestores of kept templates.
DATA_DIR = ROOT / ".build" / "bench-data"
# Files whose change makes a kept template of the addon out of date.
SOURCE_SUFFIXES = {".py", ".xml", ".csv", ".js", ".scss"}


@dataclass(frozen=True)
class Database:
    """A database of a benchmark run: a copy of ``template`` (``addon`` or
    ``core``), served by the run's server unless ``served`` is False."""

    name: str
    template: str
    served: bool = True


ADDON_DB = Database("ig_bench_addon", "addon")
CORE_DB = Database("ig_bench_core", "core")
# The outgoing webhook benchmarks' own: their automations queue webhooks,
# which would weigh on the other benchmarks.
WEBHOOKS_DB = Database("ig_bench_webhooks", "addon")


@dataclass
class Figure:
    """One line of the table of results: a value, its goal and whether the
    value meets it (None when there is no goal)."""

    label: str
    value: float
    unit: str = "x"  # "x" (a ratio), "ms", "/s"
    goal: str = ""
    met: bool | None = None

    def value_text(self):
        if self.unit == "x":
            return f"{self.value:.2f}"
        if self.unit == "ms":
            return (
                f"{self.value:.2f} ms" if self.value < 100 else f"{self.value:.0f} ms"
            )
        return f"{self.value:.0f} {self.unit}"


@dataclass
class Report:
    """What a benchmark module measured: its own lines of detail, and the
    figures that go into the common table."""

    title: str
    lines: list = field(default_factory=list)
    figures: list = field(default_factory=list)

    def print(self):
        print(f"\n== {self.title}")
        for line in self.lines:
            print(line)


def say(text):
    print(f"==> {text}", file=sys.stderr, flush=True)


def _addon_digest():
    digest = hashlib.sha256()
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if relative.parts[0].startswith(".") or relative.parts[0] in ("bench", "fault"):
            continue
        if path.is_file() and path.suffix in SOURCE_SUFFIXES:
            digest.update(str(relative).encode())
            digest.update(path.read_bytes())
    digest.update(str(harness.odoo_tree()).encode())
    return digest.hexdigest()[:16]


class Bench:
    """One benchmark run: its databases, its Odoo server (``workers``
    prefork workers, ``cron_workers`` cron workers) and helpers to call it.

    ``reuse`` keeps the templates for the next run; ``keep`` keeps the
    run's databases too (for a look at them afterwards)."""

    def __init__(self, databases, workers=4, cron_workers=2, reuse=False, keep=False):
        self.databases = {db.name: db for db in databases}
        self.workers = workers
        self.cron_workers = cron_workers
        self.reuse = reuse
        self.keep = keep
        self.odoo = harness.OdooEnv(prefix="ig_bench_", data_dir=DATA_DIR)
        self.server = None
        self.server_args = []
        self._tokens = {}
        self._templates_built = []

    # -- databases ------------------------------------------------------------

    def build(self):
        """Makes the templates the run needs (or finds them up to date) and
        copies each database of the run from its template."""
        digest = _addon_digest()
        kinds = {db.template for db in self.databases.values()}
        missing = {}
        for kind in sorted(kinds):
            name, modules = TEMPLATES[kind]
            stamp = digest if kind == "addon" else str(harness.odoo_tree())
            if self.reuse and self._template_stamp(name) == stamp:
                say(f"reusing template {name}")
                continue
            missing[name] = (modules, stamp)
        if missing:
            say(f"installing {', '.join(missing)} (about a minute)")
            self.odoo.create_databases({name: m for name, (m, _s) in missing.items()})
            for name, (_modules, stamp) in missing.items():
                self._set_template_stamp(name, stamp)
                self._templates_built.append(name)
        for db in self.databases.values():
            self.odoo.clone_database(TEMPLATES[db.template][0], db.name)

    def _template_stamp(self, name):
        if not harness.database_exists(name):
            return None
        with harness.pg_connection() as conn, conn.cursor() as cr:
            cr.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = %s",
                [name],
            )
            row = cr.fetchone()
        return row and row[0]

    def _set_template_stamp(self, name, stamp):
        with harness.pg_connection() as conn, conn.cursor() as cr:
            cr.execute(
                harness.sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    harness.sql.Identifier(name), harness.sql.Literal(stamp)
                )
            )

    def run_script(self, db, fixture, *args, timeout=900):
        """Runs the fixture file ``fixture`` (in bench/fixtures/) against
        ``db``; what its ``main(env, *args)`` returns."""
        return self.odoo.run_script(db, fixture, *args, timeout=timeout)

    def sql(self, db, query, params=None):
        """Runs one statement on ``db`` in autocommit; returns its rows (or
        None when it returns none)."""
        with harness.pg_connection(db) as conn, conn.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall() if cr.description else None

    # -- the server -----------------------------------------------------------

    def start(self):
        served = [db.name for db in self.databases.values() if db.served]
        if not served:
            return
        SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
        SERVER_LOG.unlink(missing_ok=True)
        self.server = self.odoo.server(
            served,
            workers=self.workers,
            cron_threads=self.cron_workers,
            # Each process keeps a few connections per database it serves;
            # bounded, so that the run stays within PostgreSQL's
            # max_connections (100 by default) beside other work.
            args=["--db_maxconn=8", *self.server_args],
            log=SERVER_LOG,
        )
        say(
            f"starting Odoo on {self.server.url}: {self.workers} workers, "
            f"{self.cron_workers} cron workers, databases {', '.join(served)}; "
            f"log in {SERVER_LOG}"
        )
        self.server.start()

    def admin_token(self, db):
        """An API key of the administrator of ``db`` (made once)."""
        if db not in self._tokens:
            self._tokens[db] = self.run_script(db, FIXTURES / "admin_key.py")
        return self._tokens[db]

    def json2(self, db, token, model, method, body=None, session=None, timeout=60):
        """Calls ``model.method`` through JSON/2 on ``db``; the response."""
        return (session or requests).post(
            f"{self.server.url}/json/2/{model}/{method}",
            json=body if body is not None else {},
            headers={"Authorization": f"Bearer {token}", "X-Odoo-Database": db},
            timeout=timeout,
        )

    def set_param(self, db, key, value):
        """Sets a system parameter while the server runs, and gives every
        worker the time to see it."""
        response = self.json2(
            db,
            self.admin_token(db),
            "ir.config_parameter",
            "set_param",
            {"key": key, "value": value or False},
        )
        response.raise_for_status()
        time.sleep(1)

    def close(self):
        if self.server is not None:
            self.server.stop()
        if not self.keep:
            for db in self.databases:
                self.odoo.drop_database(db)
        if not self.reuse:
            for name in self._templates_built:
                self.odoo.drop_database(name)
        self.odoo.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def timed_create(bench, db, session, token, variant, vals):
    """Seconds one JSON/2 ``res.partner/create`` of ``vals`` takes on
    ``db``; raises naming ``variant`` when it does not answer 200."""
    started = time.perf_counter()
    response = bench.json2(
        db, token, "res.partner", "create", {"vals_list": [vals]}, session
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{variant}: {response.status_code} {response.text[:300]}")
    return elapsed


def interleaved(names, calls, warmup, call):
    """Times ``call(name, n)`` for each variant ``name``, ``warmup`` rounds
    untimed then ``calls`` rounds, the variants taking turns and each
    round starting with the next one, so that none gains from the order.
    Returns {name: [seconds, ...]}."""
    names = list(names)
    for n in range(warmup):
        for name in names:
            call(name, f"w{n}")
    timings = {name: [] for name in names}
    for n in range(calls):
        for name in names[n % len(names) :] + names[: n % len(names)]:
            timings[name].append(call(name, n))
    return timings


def machine(dated=True):
    """One line saying where (and, when ``dated``, when) figures were
    taken."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        ram = f"{kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        ram = "RAM unknown"
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    where = f"{os.cpu_count()} CPUs ({cpu}), {ram}, load average {load}"
    return f"{time.strftime('%Y-%m-%d %H:%M')}, {where}" if dated else where


def table_lines(figures):
    """The table of figures (a reStructuredText simple table): value, goal,
    met or not."""
    rows = [("figure", "value", "goal", "met")]
    for figure in figures:
        met = {True: "yes", False: "NO", None: "-"}[figure.met]
        rows.append((figure.label, figure.value_text(), figure.goal or "-", met))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    rule = "  ".join("=" * width for width in widths)
    lines = [rule]
    for index, row in enumerate(rows):
        lines.append(
            "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if index == 0:
            lines.append(rule)
    lines.append(rule)
    return lines


def print_table(figures):
    for line in table_lines(figures):
        print(line)


# The part of the benchmarks' documentation a whole run rewrites: between
# these two comment lines, the run's date, machine and table.
README = ROOT / "readme" / "BENCHMARKS.rst"
README_START = ".. The figures of the latest whole run (written by make bench):"
README_END = ".. End of the figures of the latest whole run."


def write_readme(figures, started, seconds, machine_line, readme=README):
    """Puts the table of a whole run (every benchmark, full counts) into the
    benchmarks' documentation, with when and where it was measured; the
    prose around it stays as written."""
    text = readme.read_text()
    head, _start, rest = text.partition(README_START + "\n")
    _old, _end, tail = rest.partition(README_END + "\n")
    if not _start or not _end:
        raise ValueError(f"{readme} has no place for the figures")
    block = [
        README_START,
        "",
        textwrap.fill(
            f"One ``make bench`` run started "
            f"{time.strftime('%Y-%m-%d %H:%M', started)} UTC, {seconds:.0f} s, on "
            f"{machine_line} at its end.",
            width=76,
        ),
        "",
        *table_lines(figures),
        "",
        README_END,
        "",
    ]
    readme.write_text(head + "\n".join(block) + tail)


def common_arguments(parser):
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the template databases for the next run, and use them when "
        "they are up to date",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the run's databases afterwards"
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--cron-workers", type=int, default=2)


def run_alone(module, argv=None):
    """Runs one benchmark module on a server of its own: what each module's
    ``main()`` does."""
    parser = argparse.ArgumentParser(description=module.__doc__.split("\n\n")[0])
    common_arguments(parser)
    module.add_arguments(parser)
    options = parser.parse_args(argv)
    with Bench(
        module.DATABASES,
        workers=options.workers,
        cron_workers=options.cron_workers,
        reuse=options.reuse,
        keep=options.keep,
    ) as bench:
        bench.build()
        state = module.prepare(bench, options)
        bench.start()
        report = module.measure(bench, state, options)
    report.print()
    print()
    print(machine())
    print_table(report.figures)
    return 0
