"""Runs one fixture file against a database (see ``scripts.run_script``).

Usage: ``run_fixture.py CONFIG DATABASE FIXTURE ARGS_JSON``; prints the
result after ``__RESULT__``, once the fixture's changes are committed.
"""

import importlib.util
import json
import sys

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry


def main(config, db, path, args):
    odoo.tools.config.parse_config(["-c", config])
    spec = importlib.util.spec_from_file_location("fixture", path)
    fixture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixture)
    with Registry(db).cursor() as cr:
        result = fixture.main(api.Environment(cr, SUPERUSER_ID, {}), *args)
    # A line of its own: what the fixture printed comes before.
    print("\n__RESULT__" + json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
