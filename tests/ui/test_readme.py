"""README.rst is generated from readme/ and renders without a complaint."""

from pathlib import Path

import docutils.core
import docutils.utils

import readme as readme_tool  # tools/, on the path of tools/test.sh

ROOT = Path(__file__).resolve().parents[2]


def test_readme_is_up_to_date():
    expected = readme_tool.build(ROOT)
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
