"""README.rst is generated from readme/ and renders without a complaint."""

import importlib.util
from pathlib import Path

import docutils.core
import docutils.utils

ROOT = Path(__file__).resolve().parent.parent


def _readme_tool():
    path = ROOT / "tools" / "readme.py"
    spec = importlib.util.spec_from_file_location("readme_tool", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_is_up_to_date():
    expected = _readme_tool().build(ROOT)
    actual = (ROOT / "README.rst").read_text()
    assert actual == expected, "README.rst is out of date: run python tools/readme.py"


def test_readme_renders_without_warnings():
    text = (ROOT / "README.rst").read_text()
    docutils.core.publish_doctree(
        text,
        settings_overrides={
            "report_level": docutils.utils.Reporter.INFO_LEVEL + 1,
            "halt_level": docutils.utils.Reporter.WARNING_LEVEL,
        },
    )
