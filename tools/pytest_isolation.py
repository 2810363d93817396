"""pytest plugin of the project's test command: isolation of the state the
addon keeps outside the test's transaction.

The rate limiter commits its counters on connections of its own, so they
outlive the rollback of each test. The test client always calls from
127.0.0.1: without this, the wrong keys some tests send on purpose would add
up across tests (and across runs on a reused database) until the guard
against key guessing answered 429 to the Bearer calls of later tests.

The server answers a call before it writes some counters (usage of a key,
accepted incoming calls: ``plumbing.after_response``), in the same process
as the tests: ``HttpCase.url_open`` returns once that work is done too, so
that a test reads the counters of the calls it made.
"""

import pytest

# Longer than any counter's write; a test that times out here goes on and
# fails on the count it reads, if it reads one.
AFTER_RESPONSE_TIMEOUT = 10  # seconds


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


@pytest.fixture(autouse=True, scope="session")
def _url_open_waits_for_work_after_the_answer():
    from unittest.mock import patch

    from odoo.tests.common import HttpCase

    from odoo.addons.integration_gateway.plumbing import (
        wait_for_work_after_responses,
    )

    url_open = HttpCase.url_open

    def url_open_and_wait(self, *args, **kwargs):
        response = url_open(self, *args, **kwargs)
        wait_for_work_after_responses(AFTER_RESPONSE_TIMEOUT)
        return response

    with patch.object(HttpCase, "url_open", url_open_and_wait):
        yield
