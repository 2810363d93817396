"""Real Odoo servers, databases and webhook receivers for benchmarks and
fault-injection tests.

Everything here runs the real thing: ``odoo-bin`` processes (threaded or with
prefork workers) on 127.0.0.1, databases on the project's PostgreSQL (the one
the project's commands chose: ``PGHOST``/``PGPORT``/``PGUSER``) or on a
private cluster started for the occasion, and an HTTP receiver thread that
records what it is sent. One module per concern:

- ``ports``: ports handed out within ``IG_PORTS`` (``low-high``) when set;
- ``postgres``: connections, databases copied and dropped, private clusters;
- ``odoo_env`` and ``odoo_server``: an Odoo configuration, the databases it
  installs and the ``odoo-bin`` processes it starts;
- ``scripts`` (and ``run_fixture``): fixture files run against a database;
- ``receiver``: the webhook receiver, the one of the addon's tests;
- ``waiting``: waiting for a condition, percentiles.

Everything is re-exported here: callers ``import harness``.
"""

from psycopg2 import sql

from .odoo_env import OdooEnv
from .odoo_server import PROBLEM_LINE, OdooServer
from .paths import ADDON, PYTHON, ROOT, VENV, odoo_tree
from .ports import allocate_port, free_port
from .postgres import (
    PrivatePostgres,
    clone_database,
    database_exists,
    drop_database,
    pg_bin,
    pg_connection,
    pg_params,
)
from .receiver import Received, WebhookReceiver, new_receiver
from .scripts import run_script
from .waiting import percentile, wait_for

__all__ = [
    "ADDON",
    "PROBLEM_LINE",
    "PYTHON",
    "ROOT",
    "VENV",
    "OdooEnv",
    "OdooServer",
    "PrivatePostgres",
    "Received",
    "WebhookReceiver",
    "allocate_port",
    "clone_database",
    "database_exists",
    "drop_database",
    "free_port",
    "new_receiver",
    "odoo_tree",
    "percentile",
    "pg_bin",
    "pg_connection",
    "pg_params",
    "run_script",
    "sql",
    "wait_for",
]
