"""pytest plugin of the project's test command: isolation of the state the
addon keeps outside the test's transaction.

The rate limiter commits its counters on connections of its own, so they
outlive the rollback of each test. The test client always calls from
127.0.0.1: without this, the wrong keys some tests send on purpose would add
up across tests (and across runs on a reused database) until the guard
against key guessing answered 429 to the Bearer calls of later tests.
"""

import pytest


@pytest.fixture(autouse=True)
def _forget_failed_authentications():
    # Imported here: Odoo's addons are on the path only once pytest-odoo
    # has set it up.
    from odoo import sql_db
    from odoo.tests.common import get_db_name

    with sql_db.db_connect(get_db_name()).cursor() as cr:
        cr.execute(
            "DELETE FROM integration_rate_limit_counter "
            "WHERE key LIKE 'auth-failure:%%'"
        )
    yield
