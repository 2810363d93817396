"""Fixtures run against a database: real Python files (``bench/fixtures/``,
``fault/fixtures/``) that define ``main(env, *args)``.

``run_script`` runs one in a subprocess of its own with the superuser's
``env``, commits its changes and returns what ``main`` returned (anything
JSON-serialisable): the tools never import Odoo themselves.
"""

import json
import subprocess
from pathlib import Path

from .paths import PYTHON

# The program run in the subprocess (a file, so that it is linted too).
RUNNER = Path(__file__).resolve().parent / "run_fixture.py"
RESULT_MARK = "__RESULT__"


def run_script(odoo_env, db, fixture, *args, timeout=600):
    """Runs the fixture file ``fixture`` against database ``db`` of
    ``odoo_env``: its ``main(env, *args)`` gets the superuser's ``env`` and
    ``args``, its changes are committed, and what it returns is returned."""
    done = subprocess.run(
        [
            str(PYTHON),
            str(RUNNER),
            str(odoo_env.conf),
            db,
            str(Path(fixture).resolve()),
            json.dumps(list(args)),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=odoo_env.process_env(),
    )
    if done.returncode or RESULT_MARK not in done.stdout:
        raise RuntimeError(
            f"fixture {Path(fixture).name} failed in {db}:\n{done.stderr[-3000:]}"
        )
    return json.loads(done.stdout.rsplit(RESULT_MARK, 1)[1])
