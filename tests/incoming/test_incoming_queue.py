"""Queued incoming webhooks, over real HTTP against the test server.

HTTP tests because what they check is the answer of the real route: a
queued validator answers 202 once the message is stored in the call's
transaction, without waiting for the automation, and duplicates are
answered by the same route. The queue is then run as its cron runs it
(``run_incoming_queue``), on the test's transaction.
"""

import json
import statistics
import time
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_gateway.lib import webhook_signatures as ws
from odoo.addons.integration_gateway.plumbing import own_cursor

from ..common import make_messages_due, run_incoming_queue
from .test_incoming_webhooks import SECRET, IncomingWebhookCase

# What the automation of these tests does with a message: find the partner
# by the payload's ref, count the run on it, and log the message's number
# and a header it was sent with as a partner category (their ids tell the
# order messages ran in).
LOG_CODE = (
    "record.write({'color': record.color + 1})\n"
    "env['res.partner.category'].create({'name': 'q-%s-%s' % ("
    "payload['n'], env.context.get('webhook_headers', {}).get('X-Shop-Domain'))})"
)


@tagged("post_install", "-at_install")
class TestIncomingQueue(IncomingWebhookCase):
    def _queued_automation(self, code=LOG_CODE, **values):
        validator = self._validator(
            signature_scheme="github", processing="queued", **values
        )
        automation = self._automation(validator)
        automation.action_server_ids.code = code
        return validator, automation

    def _send(self, automation, n, ref="ACME-1", delivery=None):
        body = json.dumps({"ref": ref, "n": n}).encode()
        headers = {
            "X-Hub-Signature-256": ws.sign_github(SECRET, body),
            "X-GitHub-Delivery": delivery or f"delivery-{n}",
            "X-Shop-Domain": "shop.example",
        }
        return self._post(automation, body, headers)

    def _log(self):
        return (
            self.env["res.partner.category"]
            .search([("name", "=like", "q-%")], order="id")
            .mapped("name")
        )

    def _messages(self, validator):
        return self.env["integration.webhook.message"].search(
            [("validator_id", "=", validator.id)], order="id"
        )

    def test_answered_at_once_while_the_automation_takes_two_seconds(self):
        # The first message takes 2 s to process, the others none: the
        # queue's run shows the automation's time, not the calls.
        validator, automation = self._queued_automation(
            code="if payload['n'] == 0:\n    time.sleep(2)\n" + LOG_CODE
        )
        timings = []
        for n in range(3):
            started = time.perf_counter()
            response = self._send(automation, n)
            timings.append(time.perf_counter() - started)
            self.assertEqual(response.status_code, 202, response.text)
            self.assertEqual(
                response.json(), {"status": "queued", "id": f"delivery-{n}"}
            )
        # The automation takes 2 s: an answer that waited for it could not
        # be this fast, even on a loaded machine (the benchmark measures it).
        self.assertLess(statistics.median(timings), 0.5, timings)
        self.assertEqual(self._runs(), 0, "the call ran the automation")

        started = time.perf_counter()
        run_incoming_queue(self)
        self.assertGreaterEqual(time.perf_counter() - started, 2)
        self.assertEqual(self._messages(validator).mapped("state"), ["done"] * 3)
        self.assertEqual(self._runs(), 3)

    def test_same_result_queued_or_immediate(self):
        """One automation, the same message: the same writes either way,
        the headers included."""
        _validator, queued = self._queued_automation()
        immediate = self._automation(self._validator(signature_scheme="github"))
        immediate.action_server_ids.code = LOG_CODE

        self.assertEqual(self._send(immediate, 1).json(), {"status": "ok"})
        after_immediate = (self._runs(), self._log())
        self.assertEqual(after_immediate, (1, ["q-1-shop.example"]))

        self.assertEqual(self._send(queued, 1).status_code, 202)
        run_incoming_queue(self)
        self.assertEqual(
            (self._runs(), self._log()), (2, ["q-1-shop.example", "q-1-shop.example"])
        )

    def test_transient_failure_is_retried_then_succeeds(self):
        # The order arrives before its customer: the automation finds no
        # record to run on, until the customer is created.
        validator, automation = self._queued_automation(queue_retry_schedule="1m,1h")
        self.assertEqual(self._send(automation, 1, ref="NEW-1").status_code, 202)
        run_incoming_queue(self)
        message = self._messages(validator)
        self.assertEqual((message.state, message.attempt_count), ("retrying", 1))
        self.assertIn("No record to run the automation on", message.last_error)
        self.assertIn("Traceback", message.sudo().last_traceback)
        self.assertGreater(message.next_attempt_at, message.received_at)

        # Not due yet: nothing runs.
        run_incoming_queue(self)
        self.assertEqual(message.attempt_count, 1)

        customer = self.env["res.partner"].create({"name": "New", "ref": "NEW-1"})
        make_messages_due(message)
        run_incoming_queue(self)
        self.assertEqual((message.state, message.attempt_count), ("done", 2))
        self.assertFalse(message.last_error)
        self.assertEqual(customer.color, 1)

    def test_dead_after_the_schedule_then_run_again(self):
        validator, automation = self._queued_automation(queue_retry_schedule="1h,1h")
        self.assertEqual(self._send(automation, 1, ref="NEW-2").status_code, 202)
        message = self._messages(validator)
        for attempt in (1, 2, 3):
            make_messages_due(message)
            run_incoming_queue(self)
            self.assertEqual(message.attempt_count, attempt)
        self.assertEqual(message.state, "dead")
        self.assertFalse(message.next_attempt_at)
        self.assertTrue(message.payload, "a dead message keeps its payload")
        self.assertEqual(validator.dead_message_count, 1)

        # Dead messages and a done one, requeued together: only the dead
        # one runs again, with a fresh schedule.
        self.assertEqual(self._send(automation, 2).status_code, 202)
        run_incoming_queue(self)
        both = self._messages(validator)
        self.assertEqual(both.mapped("state"), ["dead", "done"])
        answer = both.action_run_again()
        self.assertIn("1 skipped", answer["params"]["message"])
        self.assertEqual(both.mapped("state"), ["queued", "done"])
        self.assertEqual(message.attempt_count, 0)
        self.env["res.partner"].create({"name": "Late", "ref": "NEW-2"})
        run_incoming_queue(self)
        self.assertEqual(both.mapped("state"), ["done", "done"])
        self.assertEqual(self._log(), ["q-2-shop.example", "q-1-shop.example"])

    def test_duplicates_answered_200_and_stored_once(self):
        validator, automation = self._queued_automation()
        self.assertEqual(self._send(automation, 1).status_code, 202)
        response = self._send(automation, 1)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"status": "ok", "duplicate": True})
        run_incoming_queue(self)
        # Once run, still a duplicate.
        self.assertEqual(self._send(automation, 1).status_code, 200)
        run_incoming_queue(self)
        self.assertEqual(len(self._messages(validator)), 1)
        self.assertEqual(self._runs(), 1)
        self.assertFalse(self._rejections(automation))

    def test_ordered_keeps_the_order_under_retries(self):
        """The first message fails and waits for its retry: an ordered
        validator holds the later ones back, an unordered one does not."""
        for ordered in (True, False):
            with self.subTest(ordered=ordered):
                self.env["res.partner.category"].search(
                    [("name", "=like", "q-%")]
                ).unlink()
                validator, automation = self._queued_automation(
                    ordered=ordered, queue_retry_schedule="1h"
                )
                ref = f"LATER-{ordered}"
                self._send(automation, 1, ref=ref, delivery=f"o-{ordered}-1")
                self._send(automation, 2, delivery=f"o-{ordered}-2")
                self._send(automation, 3, delivery=f"o-{ordered}-3")
                run_incoming_queue(self)
                states = self._messages(validator).mapped("state")
                if ordered:
                    self.assertEqual(states, ["retrying", "queued", "queued"])
                    self.assertEqual(self._log(), [])
                else:
                    self.assertEqual(states, ["retrying", "done", "done"])
                self.env["res.partner"].create({"name": "Later", "ref": ref})
                make_messages_due(self._messages(validator))
                run_incoming_queue(self)
                self.assertEqual(
                    self._messages(validator).mapped("state"), ["done"] * 3
                )
                order = [name.split("-")[1] for name in self._log()]
                self.assertEqual(order, ["1", "2", "3"] if ordered else ["2", "3", "1"])

    def test_rejections_are_found_by_the_senders_message_id(self):
        _validator, automation = self._queued_automation()
        body = b'{"ref": "ACME-1", "n": 1}'
        response = self._post(
            automation,
            body,
            {"X-Hub-Signature-256": "sha256=00", "X-GitHub-Delivery": "lost-42"},
        )
        self.assertRefused(response, 401, "signature")
        # Committed on a connection of its own, which the test's snapshot
        # does not see: searched there, as the list's filter searches.
        with own_cursor(self.env.cr.dbname) as cr:
            env = self.env(cr=cr)
            found = env["integration.webhook.rejection"].search(
                [("message_id", "=", "lost-42")]
            )
            self.assertEqual(found.reason, "signature")


@tagged("post_install", "-at_install")
class TestQueuedMessageRetention(TransactionCase):
    """Processed messages are forgotten after the replay window; queued
    ones, once done, after the retention setting too; waiting and dead
    ones are kept until handled."""

    def test_retention(self):
        validator = self.env["integration.webhook.validator"].create(
            {"name": "Kept", "signature_scheme": "github", "replay_window": 1}
        )
        automation = self.env["base.automation"].create(
            {
                "name": "Hook",
                "model_id": self.env["ir.model"]._get("res.partner").id,
                "trigger": "on_webhook",
                "webhook_validator_id": validator.id,
            }
        )
        self.env["ir.config_parameter"].set_param(
            "integration_gateway.retention_days", "10"
        )
        Message = self.env["integration.webhook.message"]

        def message(name, days, **values):
            return Message.create(
                {
                    "validator_id": validator.id,
                    "automation_id": automation.id,
                    "message_id": name,
                    "received_at": fields.Datetime.now() - timedelta(days=days),
                    **values,
                }
            )

        immediate_old = message("immediate-2d", 2)
        immediate_new = message("immediate-now", 0)
        queued = {"processing": "queued", "payload": "{}"}
        done_5d = message("done-5d", 5, state="done", **queued)
        done_11d = message("done-11d", 11, state="done", **queued)
        dead_11d = message("dead-11d", 11, state="dead", **queued)
        waiting_11d = message("retrying-11d", 11, state="retrying", **queued)
        Message._gc_expired_messages()
        self.assertEqual(
            Message.search([("validator_id", "=", validator.id)]),
            immediate_new | done_5d | dead_11d | waiting_11d,
        )
        self.assertFalse((immediate_old | done_11d).exists())
        # 0 keeps every queued message, done ones included.
        self.env["ir.config_parameter"].set_param(
            "integration_gateway.retention_days", "0"
        )
        done_11d = message("done-11d", 11, state="done", **queued)
        Message._gc_expired_messages()
        self.assertTrue(done_11d.exists())

    def test_waiting_messages_cannot_be_deleted(self):
        validator = self.env["integration.webhook.validator"].create(
            {"name": "Waiting", "signature_scheme": "github"}
        )
        Message = self.env["integration.webhook.message"]
        values = {"validator_id": validator.id, "received_at": fields.Datetime.now()}
        waiting = Message.create({**values, "message_id": "w", "state": "queued"})
        dead = Message.create({**values, "message_id": "d", "state": "dead"})
        with self.assertRaises(UserError):
            waiting.unlink()
        dead.unlink()
        self.assertTrue(waiting.exists())
        self.assertFalse(dead.exists())
