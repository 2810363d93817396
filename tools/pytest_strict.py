"""pytest plugin of the project's test command: a skipped test fails the run."""

import os


def pytest_sessionfinish(session, exitstatus):
    # The project's test command runs every test with every tool in place: a
    # skipped test there means a tool or a setting is missing, which is a
    # failure, not a pass.
    if not os.environ.get("IG_FORBID_SKIPS") or exitstatus:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped") if reporter else None
    if skipped:
        reporter.write_line(
            f"{len(skipped)} test(s) skipped: the test command fails on a skip, "
            "since every tool it needs is in place (see the skip reasons above)",
            red=True,
        )
        session.exitstatus = 1
