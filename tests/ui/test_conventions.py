"""The addon follows the OCA's conventions where its tools check them:
manifest keys, wizards in wizards/, XML files declared UTF-8 with numbers
given by eval."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ast.literal_eval((ROOT / "__manifest__.py").read_text())
XML_FILES = sorted(
    path
    for folder in ("data", "security", "views", "wizards")
    for path in (ROOT / folder).glob("*.xml")
)
# A number written as a field's text is loaded as a string.
NUMERIC_FIELD = re.compile(
    r'<field name="(sequence|priority|interval_number|numbercall)">-?\d+</field>'
)


def test_manifest_keys():
    assert MANIFEST["development_status"] in {
        "Alpha",
        "Beta",
        "Production/Stable",
        "Mature",
    }
    assert MANIFEST["maintainers"]
    assert "mail" in MANIFEST["depends"], "the endpoint's chatter needs mail"
    assert "installable" not in MANIFEST, "True is the default"
    assert "application" not in MANIFEST, "False is the default"


def test_wizards_live_in_wizards():
    for folder in ("models", "views"):
        for path in (ROOT / folder).iterdir():
            text = path.read_text() if path.is_file() else ""
            assert "models.TransientModel" not in text or (
                "res.config.settings" in text
            ), f"{path.name}: a wizard belongs in wizards/"
            assert 'name="target">new<' not in text, (
                f"{path.name}: a wizard's view belongs in wizards/"
            )
    assert sorted(p.name for p in (ROOT / "wizards").glob("*.py")) == [
        "__init__.py",
        "integration_api_key_wizard.py",
        "integration_webhook_replay.py",
        "integration_webhook_test_event.py",
        "res_users_apikeys_description.py",
    ]


def test_xml_files_are_declared_utf8_and_numbers_evaluated():
    assert XML_FILES
    for path in XML_FILES:
        text = path.read_text()
        assert text.startswith('<?xml version="1.0" encoding="UTF-8" ?>\n'), path
        assert not NUMERIC_FIELD.search(text), f"{path.name}: use eval for numbers"
