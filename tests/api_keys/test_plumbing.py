"""A read-only key's transaction made read-only by the call's first
statement, without a round trip of its own (``plumbing``)."""

from odoo import sql_db
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_gateway.plumbing import ReadOnlyFromNextStatement


@tagged("post_install", "-at_install")
class TestPlumbing(TransactionCase):
    def own_cursor(self):
        """A real cursor of the test's database, rolled back at the end."""
        cr = sql_db.db_connect(self.env.cr.dbname).cursor()
        self.addCleanup(cr.close)
        self.addCleanup(cr.rollback)
        return cr

    def read_only(self, cr):
        cr.execute("SHOW transaction_read_only")
        return cr.fetchone()[0] == "on"

    def test_read_only_goes_with_the_next_statement(self):
        cr = self.own_cursor()
        cr.execute("SELECT 1")
        before = cr.sql_log_count
        read_only = ReadOnlyFromNextStatement(cr)
        cr.execute("SELECT %s", [2])
        self.assertEqual(cr.fetchone(), (2,), "the statement's own result")
        self.assertEqual(cr.sql_log_count - before, 1, "no round trip of its own")
        self.assertTrue(self.read_only(cr))
        self.assertNotIn("execute", vars(cr), "the cursor's own execute is back")
        before = cr.sql_log_count
        read_only.finish()
        self.assertEqual(cr.sql_log_count, before, "done already")

    def test_read_only_at_the_end_when_nothing_ran(self):
        cr = self.own_cursor()
        cr.execute("SELECT 1")
        read_only = ReadOnlyFromNextStatement(cr)
        read_only.finish()
        self.assertNotIn("execute", vars(cr))
        self.assertTrue(self.read_only(cr))

    def test_cancelled_read_only_leaves_the_transaction_alone(self):
        cr = self.own_cursor()
        cr.execute("SELECT 1")
        read_only = ReadOnlyFromNextStatement(cr)
        read_only.cancel()
        read_only.finish()
        self.assertFalse(self.read_only(cr))
