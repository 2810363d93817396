"""Read-only policies over real HTTP: what a read-only key may call, and
that nothing it calls can write.

Odoo marks methods ``@api.readonly`` as a routing hint: JSON/2 serves them
on a read-only cursor when one is at hand and, when such a method writes,
serves the call again on a read/write cursor (without a replica, on a
read/write cursor from the start). A method marked read-only that writes
(``sale.order.action_preview_sale_order`` writes a portal token) would let a
read-only key write. None of the addon's dependencies has such a method, so
the tests give ``res.partner`` one for their duration (``_readonly_writer``),
on the registry's class that the test server serves: the registry is the
real one, the method is the one thing added, and it is removed after the
test.
"""

import contextlib
import xmlrpc.client
from unittest.mock import patch

from odoo import api
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..common import ApiKeyMixin

ACCESS_ERROR = "odoo.exceptions.AccessError"
READONLY_WRITER = "integration_test_preview"
DEFERRED_WRITER = "integration_test_deferred"


@api.readonly
def _readonly_writer(self):
    """Marked read-only, writes with sudo and returns what it wrote, the
    way a method handing out a portal token does."""
    self.sudo().write({"ref": "token-123"})
    return self.sudo().read(["ref"])


@api.readonly
def _readonly_deferred_writer(self):
    """Marked read-only, leaves its write to a pre-commit hook."""
    partner = self.sudo()
    self.env.cr.precommit.add(lambda: partner.write({"ref": "token-456"}))
    return True


@tagged("post_install", "-at_install")
class TestReadOnlyPolicy(ApiKeyMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api_user = new_test_user(
            cls.env,
            login="ig_read_only_user",
            groups="base.group_user,base.group_partner_manager,api_doc.group_allow_doc",
        )
        cls.partner = cls.env["res.partner"].create({"name": "Read-only Partner"})
        cls.policy = cls.env["integration.api.policy"].create(
            {
                "name": "Partners, read-only",
                "read_only": True,
                "rule_ids": [
                    (0, 0, {"model_pattern": "res.partner", "method_pattern": "*"})
                ],
            }
        )

    def setUp(self):
        super().setUp()
        self.startPatcher(
            patch.object(
                type(self.env["res.partner"]),
                READONLY_WRITER,
                _readonly_writer,
                create=True,
            )
        )
        self.startPatcher(
            patch.object(
                type(self.env["res.partner"]),
                DEFERRED_WRITER,
                _readonly_deferred_writer,
                create=True,
            )
        )

    @contextlib.contextmanager
    def refused_write(self):
        """The refused write as the logs show it: PostgreSQL's error on the
        statement, then Odoo's warning for the AccessError."""
        with (
            mute_logger("odoo.sql_db"),
            self.assertLogs("odoo.http", "WARNING") as logs,
        ):
            yield
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn("read-only", logs.records[0].getMessage())

    def assertWriteRefused(self, response):
        self.assertEqual(response.status_code, 403, response.text)
        body = response.json()
        self.assertEqual(body["name"], ACCESS_ERROR)
        self.assertIn("'Partners, read-only'", body["message"])
        self.assertIn(f"res.partner.{READONLY_WRITER}", body["message"])
        self.assertIn("read-only", body["message"])
        self.partner.invalidate_recordset()
        self.assertFalse(self.partner.ref, "nothing was written")

    def test_method_marked_read_only_that_writes_is_refused(self):
        """On a read-only cursor (a replica's) the write fails and Odoo would
        serve the call again on a read/write one: refused instead."""
        token, _key = self.issue_key(self.api_user, self.policy)
        with self.refused_write():
            response = self.json2(
                token, "res.partner", READONLY_WRITER, ids=[self.partner.id]
            )
        self.assertWriteRefused(response)

    def test_refused_without_a_replica(self):
        """Without a replica, Odoo serves read-only routes on a read/write
        cursor: the key's calls are made read-only all the same."""
        token, _key = self.issue_key(self.api_user, self.policy)
        self.set_registry_readonly_mode(False)
        self.addCleanup(self.set_registry_readonly_mode, True)
        with self.refused_write():
            response = self.json2(
                token, "res.partner", READONLY_WRITER, ids=[self.partner.id]
            )
        self.assertWriteRefused(response)

    def test_write_left_to_a_pre_commit_hook_is_refused(self):
        token, _key = self.issue_key(self.api_user, self.policy)
        with self.refused_write():
            response = self.json2(
                token, "res.partner", DEFERRED_WRITER, ids=[self.partner.id]
            )
        self.assertEqual(response.status_code, 403, response.text)
        self.assertIn("tried to write", response.json()["message"])
        self.partner.invalidate_recordset()
        self.assertFalse(self.partner.ref, "nothing was written")

    def test_writing_policy_still_writes(self):
        self.policy.read_only = False
        token, _key = self.issue_key(self.api_user, self.policy)
        # Odoo's own retry on a read/write cursor, as logged
        with mute_logger("odoo.sql_db", "odoo.http"):
            response = self.json2(
                token, "res.partner", READONLY_WRITER, ids=[self.partner.id]
            )
        self.assertEqual(response.status_code, 200, response.text)
        self.partner.invalidate_recordset()
        self.assertEqual(self.partner.ref, "token-123")

    def test_reads_answer_on_both_cursors(self):
        token, _key = self.issue_key(self.api_user, self.policy)
        for replica in (True, False):
            self.set_registry_readonly_mode(replica)
            response = self.json2(
                token,
                "res.partner",
                "search_read",
                domain=[("id", "=", self.partner.id)],
                fields=["name"],
            )
            self.assertEqual(response.status_code, 200, response.text)
            self.assertEqual(response.json()[0]["name"], "Read-only Partner")
        self.set_registry_readonly_mode(True)
        # the request's transaction was left writable for the next one
        self.partner.ref = "written by the test"
        self.env.flush_all()

    def test_fields_get_is_allowed(self):
        """``fields_get`` reads metadata only: a read-only key may call it,
        on JSON/2 and through ``/doc-bearer/<model>.json``."""
        token, _key = self.issue_key(self.api_user, self.policy)
        response = self.json2(token, "res.partner", "fields_get", attributes=["type"])
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["name"], {"type": "char"})
        response = self.url_open(
            "/doc-bearer/res.partner.json",
            headers={"Authorization": f"Bearer {token}"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["model"], "res.partner")

    def test_legacy_rpc_write_is_refused(self):
        """XML-RPC runs the call on a cursor of its own: made read-only
        when the key's is, and the write answered as the policy's refusal."""
        self.policy.allow_legacy_rpc = True
        token, _key = self.issue_key(self.api_user, self.policy)
        with (
            mute_logger("odoo.sql_db", "odoo.addons.rpc.controllers.xmlrpc"),
            self.assertRaises(xmlrpc.client.Fault) as caught,
        ):
            self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                self.api_user.id,
                token,
                "res.partner",
                READONLY_WRITER,
                [[self.partner.id]],
            )
        self.assertEqual(caught.exception.faultCode, 4)  # an AccessError
        self.assertIn("'Partners, read-only'", caught.exception.faultString)
        self.assertIn("tried to write", caught.exception.faultString)
        self.partner.invalidate_recordset()
        self.assertFalse(self.partner.ref, "nothing was written")
        # reads still answer, and the key's next call is checked afresh
        with mute_logger("odoo.addons.rpc.controllers.xmlrpc"):
            found = self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                self.api_user.id,
                token,
                "res.partner",
                "search",
                [[("id", "=", self.partner.id)]],
            )
        self.assertEqual(found, [self.partner.id])
