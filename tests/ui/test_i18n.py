"""The translation template is current: a fresh export gives the same
file, but for the dates of its header."""

import io
import re
from pathlib import Path

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import trans_export

POT = Path(__file__).resolve().parents[2] / "i18n" / "integration_gateway.pot"
# Header lines that change with every export.
_DATES = re.compile(r'^"(POT-Creation-Date|PO-Revision-Date): .*\\n"$', re.MULTILINE)


def _without_dates(text):
    return _DATES.sub(r'"\1: "', text)


@tagged("post_install", "-at_install")
class TestTranslationTemplate(TransactionCase):
    def export(self):
        buffer = io.BytesIO()
        self.assertTrue(
            trans_export(None, ["integration_gateway"], buffer, "po", self.env)
        )
        return buffer.getvalue().decode()

    def test_pot_is_current(self):
        fresh = _without_dates(self.export())
        committed = _without_dates(POT.read_text())
        self.assertIn('msgid "Webhook Endpoint"', fresh)
        self.assertEqual(
            committed,
            fresh,
            "i18n/integration_gateway.pot is out of date: run make pot",
        )

    def test_dates_are_the_only_lines_ignored(self):
        header = '"POT-Creation-Date: 2026-01-01 10:00+0000\\n"\n'
        self.assertEqual(
            _without_dates(header + 'msgid "x"\n'),
            '"POT-Creation-Date: "\nmsgid "x"\n',
        )
        self.assertNotEqual(
            _without_dates('msgid "Webhook"\n'), _without_dates('msgid "Webhooks"\n')
        )
