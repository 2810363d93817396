"""pytest plugin of the fault-injection command (``make fault``), which runs
without Odoo in the pytest process: the fault tests drive Odoo servers of
their own.

The checkout is an Odoo addon, whose ``__init__.py`` only imports under
Odoo's addons path; collected as a plain folder rather than as a Python
package, it is not imported.
"""

import pytest


def pytest_collect_directory(path, parent):
    if (path / "__manifest__.py").is_file():
        return pytest.Dir.from_parent(parent, path=path)
    return None
