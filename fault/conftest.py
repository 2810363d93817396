"""Fault injection: what the addon promises, checked on real processes.

Each test starts real Odoo servers (prefork workers and cron workers) on
copies of a template database with the addon installed, then breaks
something for real: SIGKILL of the whole server, a receiver that closes its
port, a PostgreSQL cluster restarted with pg_ctl, a thousand concurrent
clients, a thousand bad requests.

``IG_FAULT_SCALE`` chooses the sizes: ``full`` (the default, ``make
fault``) or ``short`` (the version ``make test`` runs in CI). The template
is ``IG_FAULT_TEMPLATE`` when set (``make test`` copies its fresh test
database), otherwise one is built for the session.
"""

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
# lib/ imports nothing beyond itself: ``from lib import ...`` without Odoo.
# Appended, so that the addon's other folders never shadow a package.
sys.path.append(str(ROOT))

import harness  # the project's tools are not a package

SIZES = {
    "full": {
        "kill_events": 2000,
        "outage_events": 200,
        "outage_seconds": 60,
        "ordered_records": 50,
        "ordered_updates": 20,
        "paced_events": 2000,
        "restart_events": 2000,
        "rate_calls": 1000,
        "bad_requests": 1000,
        "queued_messages": 500,
    },
    "short": {
        "kill_events": 300,
        "outage_events": 40,
        "outage_seconds": 14,
        "ordered_records": 10,
        "ordered_updates": 5,
        "paced_events": 300,
        "restart_events": 300,
        "rate_calls": 300,
        "bad_requests": 200,
        "queued_messages": 60,
    },
}
SCALE = os.environ.get("IG_FAULT_SCALE", "full")
if SCALE not in SIZES:
    raise pytest.UsageError(f"IG_FAULT_SCALE must be one of {', '.join(SIZES)}")
SIZE = SIZES[SCALE]
# The fixtures run against the databases (see harness.run_script).
FIXTURES = ROOT / "fault" / "fixtures"
WORKERS = 4
CRON_WORKERS = 2

_figures = []


def db_name(what):
    """Databases of the fault tests: ``ig_faults_<run>_<what>``, where the
    run is told by the test database's name, so that runs of several
    checkouts on one PostgreSQL never share a database."""
    run = os.environ.get("IG_TEST_DB", "alone").removeprefix("ig_test_")
    return f"ig_faults_{re.sub(r'[^a-z0-9_]', '_', run.lower())}_{what}"[:63]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "fault: a fault-injection test on real processes (fault/)"
    )


def pytest_terminal_summary(terminalreporter):
    if _figures:
        terminalreporter.section(f"fault injection ({SCALE} sizes)")
        for line in _figures:
            terminalreporter.write_line(line)


@pytest.fixture
def figures():
    """Lines of figures a test measured, printed at the end of the run."""
    return _figures


@pytest.fixture(scope="session")
def odoo_env():
    with harness.OdooEnv(prefix="ig_faults_") as env:
        yield env


@dataclass
class Template:
    name: str
    filestore: Path | None = None


@pytest.fixture(scope="session")
def template(odoo_env):
    """A database with the addon installed that the tests copy."""
    given = os.environ.get("IG_FAULT_TEMPLATE")
    if given:
        store = os.environ.get("IG_FAULT_FILESTORE")
        yield Template(given, Path(store) if store else None)
        if os.environ.get("IG_FAULT_TEMPLATE_DROP") == "1":
            harness.drop_database(given)
        return
    name = db_name("template")
    odoo_env.create_database(name)
    yield Template(name)
    odoo_env.drop_database(name)


@dataclass
class Gateway:
    """A database copied from the template and, once started, an Odoo
    server with prefork workers and cron workers serving it."""

    odoo: harness.OdooEnv
    db: str
    workers: int = WORKERS
    cron_workers: int = CRON_WORKERS
    server: harness.OdooServer | None = None
    _marks: dict = field(default_factory=dict)

    def start(self, args=()):
        if self.server is None:
            self.server = self.odoo.server(
                [self.db],
                workers=self.workers,
                cron_threads=self.cron_workers,
                args=args,
            )
        self.server.start()
        return self

    def run(self, fixture, *args):
        """Runs the fixture file ``fixture`` (in fault/fixtures/) against the
        database; what its ``main(env, *args)`` returns."""
        return self.odoo.run_script(self.db, fixture, *args)

    def sql(self, query, params=None):
        with (
            harness.pg_connection(self.db, pg=self.odoo.pg) as conn,
            conn.cursor() as cr,
        ):
            cr.execute(query, params)
            return cr.fetchall() if cr.description else None

    def log_mark(self):
        """Where the server's log ends now (see ``problems_since``)."""
        return len(self.server.log_text())

    def problems_since(self, mark):
        text = self.server.log_text()[mark:]
        return [line for line in text.splitlines() if harness.PROBLEM_LINE.match(line)]


def _copy(odoo_env, template, name):
    odoo_env.clone_database(template.name, name, filestore=template.filestore)


@pytest.fixture
def gateway_factory(odoo_env, template):
    """Makes Gateways on fresh copies of the template; stops their servers
    and drops their databases after the test."""
    made = []

    def make(what, **options):
        gateway = Gateway(odoo_env, db_name(what), **options)
        _copy(odoo_env, template, gateway.db)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        if gateway.server is not None:
            gateway.server.stop()
        odoo_env.drop_database(gateway.db)


@pytest.fixture(scope="session")
def shared_gateway(odoo_env, template):
    """One running Gateway the tests that break nothing on the server
    share (rate limits, bad incoming requests, receiver outage)."""
    gateway = Gateway(odoo_env, db_name("shared"))
    _copy(odoo_env, template, gateway.db)
    try:
        yield gateway.start()
    finally:
        if gateway.server is not None:
            gateway.server.stop()
        odoo_env.drop_database(gateway.db)
