"""Assembles README.rst from the fragments in readme/.

    python tools/readme.py          writes README.rst
    python tools/readme.py --check  exits 1 when README.rst is out of date

Each fragment is reStructuredText; its section title comes from SECTIONS,
in that order. Fragments that do not exist are left out. A fragment's
``.. include:: <path>`` with a ``:code: <language>`` option (the examples'
code) is written out as a code block, since README viewers do not follow
includes.
"""

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# In the order of oca-gen-addon-readme (Context, Installation, Configuration,
# Usage, Known issues / Roadmap, Bug Tracker, Credits): for someone who runs
# Odoo first - install into an existing Odoo, roles, the scenarios as quick
# starts, then the reference, then what developers of the addon need.
SECTIONS = [
    ("DESCRIPTION.rst", None),
    ("CONTEXT.rst", "Context"),
    ("INSTALL_EXISTING.rst", "Installation"),
    ("ROLES.rst", "Configuration"),
    ("USAGE.rst", "Usage: quick starts"),
    # Reference: one fragment per capability.
    ("OVERVIEW.rst", "Reference: overview and reports"),
    ("CONFIGURE.rst", "Reference: configuration"),
    ("REFERENCE.rst", "Reference: daily use"),
    ("DELIVERY_ENGINE.rst", "Reference: delivery engine"),
    ("TRUST.rst", "Reference: signatures, OAuth2 and mutual TLS"),
    (
        "INCOMING_QUEUE.rst",
        "Reference: queued incoming webhooks, presets and handshakes",
    ),
    ("MONITORING.rst", "Reference: monitoring"),
    ("PARTNERS.rst", "For integration partners"),
    # Develop: working on the addon itself.
    ("INSTALL.rst", "Develop: set-up"),
    ("BENCHMARKS.rst", "Develop: benchmarks"),
    ("FAULTS.rst", "Develop: fault injection"),
    ("MAINTENANCE.rst", "Develop: translations and screenshots"),
    ("DEVELOP.rst", "Develop: code map"),
    ("ROADMAP.rst", "Known issues / Roadmap"),
    ("HISTORY.rst", "Changelog"),
    ("BUGTRACKER.rst", "Bug Tracker"),
    ("CONTRIBUTORS.rst", "Credits"),
]

GENERATED_NOTE = (
    ".. This file is generated from the fragments in readme/ by tools/readme.py;\n"
    "   edit those and run ``python tools/readme.py``.\n"
)


_CODE_INCLUDE = re.compile(
    r"^(?P<indent> *)\.\. include:: (?P<path>\S+)\n"
    r"(?P=indent)   :code: (?P<language>\w+)\n",
    re.MULTILINE,
)


def _inline_code(text, folder):
    def code_block(match):
        indent = match["indent"]
        code = (folder / match["path"]).read_text().rstrip("\n")
        body = "\n".join(
            f"{indent}   {line}" if line else "" for line in code.split("\n")
        )
        return f"{indent}.. code-block:: {match['language']}\n\n{body}\n"

    return _CODE_INCLUDE.sub(code_block, text)


def _title(text, char, overline=False):
    line = char * len(text)
    return f"{line}\n{text}\n{line}\n" if overline else f"{text}\n{line}\n"


def build(root=ROOT):
    """Returns the text README.rst should have."""
    manifest = ast.literal_eval((root / "__manifest__.py").read_text())
    parts = [
        GENERATED_NOTE,
        _title(manifest["name"], "=", overline=True),
        (
            f"{manifest['summary']}\n\n"
            f"*Odoo {manifest['version'][:4]} addon* ``integration_gateway`` *- "
            f"license {manifest['license']}*\n"
        ),
    ]
    sections = []
    for name, title in SECTIONS:
        path = root / "readme" / name
        if not path.is_file():
            continue
        text = _inline_code(path.read_text().strip() + "\n", path.parent)
        if title is None:
            parts.append(text)
        else:
            sections.append(_title(title, "=") + "\n" + text)
    if sections:
        parts.append("**Table of contents**\n\n.. contents::\n   :local:\n")
    parts.extend(sections)
    return "\n".join(parts)


def main(argv):
    target = ROOT / "README.rst"
    text = build()
    if "--check" in argv:
        if not target.is_file() or target.read_text() != text:
            print("README.rst is out of date: run python tools/readme.py")
            return 1
        return 0
    target.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
