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
        "integration_api_key_issued.py",
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


def _readme_sections():
    import readme as readme_tool  # tools/, on the path of tools/test.sh

    return [
        (name, title)
        for name, title in readme_tool.SECTIONS
        if (ROOT / "readme" / name).is_file()
    ]


def test_readme_reads_in_the_order_of_someone_running_odoo():
    titles = [title for _name, title in _readme_sections() if title]
    oca = [
        "Context",
        "Installation",
        "Configuration",
        "Usage: quick starts",
        "Known issues / Roadmap",
        "Bug Tracker",
        "Credits",
    ]
    assert [t for t in titles if t in oca] == oca
    first = {
        part: min(i for i, t in enumerate(titles) if t.startswith(part))
        for part in ("Installation", "Configuration", "Usage", "Reference", "Develop")
    }
    assert sorted(first, key=first.get) == list(first), first
    develop = [t for t in titles if t.startswith("Develop")]
    assert titles.index(develop[-1]) < titles.index("Known issues / Roadmap")


def test_readme_installs_into_an_existing_odoo_first():
    install = (ROOT / "readme" / "INSTALL_EXISTING.rst").read_text()
    for words in (
        "pip install -r requirements.txt",
        "addons_path",
        "Apps > Update Apps List",
        "developer mode",
        "Integration Manager",
    ):
        assert words in install, words
    setup = (ROOT / "readme" / "INSTALL.rst").read_text()
    block = setup.split(".. code-block:: shell\n\n", 1)[1].split("\n\n", 1)[0]
    assert [line.split("#")[0].strip() for line in block.splitlines()] == [
        "make run",
        "make test",
    ]


def test_readme_quick_starts_and_pictures():
    usage = (ROOT / "readme" / "USAGE.rst").read_text()
    scenarios = re.findall(r"^Scenario: (.+)\n-+\n\n(.+)", usage, re.MULTILINE)
    assert [title for title, _first in scenarios] == [
        "a web shop pushes its orders",
        "a confirmed sale order notifies the warehouse",
        "a BI dashboard with a read-only, rate-limited key",
        "a mobile app key limited to a few models",
    ]
    assert scenarios[-1][1].startswith("**Set the default policy first.**")
    text = "".join((ROOT / "readme" / n).read_text() for n, _t in _readme_sections())
    for picture in ("settings", "deliveries_dead", "replay_wizard"):
        assert f"screenshots/{picture}.png" in text, picture
    assert "**Multi-company.**" in text
