"""Where the addon, the project's Python and Odoo's source tree are."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ADDON = "integration_gateway"
VENV = Path(os.environ.get("IG_VENV", Path.home() / ".cache/integration_gateway/venv"))
PYTHON = VENV / "bin" / "python"


def odoo_tree():
    """The Odoo source tree the project's venv was set up with."""
    return Path((VENV / ".odoo_tree").read_text().strip())
