"""The addon installs into a fresh database without a warning or an error.

The project's test command installs the addon into the fresh test database
and names the log of that install in IG_INSTALL_LOG.
"""

import os
import re

import pytest

LOG_LINE = re.compile(r"^\S+ \S+ \d+ (?P<level>[A-Z]+) ")


def test_install_log_is_clean():
    path = os.environ.get("IG_INSTALL_LOG")
    if not path:
        pytest.skip("IG_INSTALL_LOG is not set: run the project's test command")
    with open(path, encoding="utf-8") as log:
        lines = log.read().splitlines()
    assert any("integration_gateway" in line for line in lines), (
        "the install log does not mention the addon"
    )
    bad = [
        line
        for line in lines
        if (m := LOG_LINE.match(line))
        and m["level"] in ("WARNING", "ERROR", "CRITICAL")
    ]
    assert not bad, "install log has warnings or errors:\n" + "\n".join(bad)
