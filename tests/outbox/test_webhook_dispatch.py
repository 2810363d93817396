"""Dispatching queued webhooks to a real receiver: signatures, retries,
Retry-After, 410, dead deliveries, endpoint health, leases, throttling and
the SSRF guard."""

import itertools
import json
import time
from datetime import timedelta
from unittest.mock import patch

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from odoo import SUPERUSER_ID, api, fields
from odoo.tests import RecordCapturer, new_test_user, tagged

from odoo.addons.integration_gateway.lib.outbox import sender
from odoo.addons.integration_gateway.models import integration_webhook_dispatcher

from ..common import WebhookCase

PAYLOAD = {"_model": "res.partner", "_id": 7, "_action": "Notify(#3)", "name": "Azure"}


@tagged("post_install", "-at_install")
class TestWebhookDispatch(WebhookCase):
    def assertDueIn(self, delivery, low, high):
        """The delivery's next attempt is between ``low`` and ``high``
        seconds from now."""
        delay = (delivery.next_attempt_at - fields.Datetime.now()).total_seconds()
        self.assertGreaterEqual(delay, low - 1)
        self.assertLessEqual(delay, high + 1)

    def test_delivered_and_signed_per_standard_webhooks(self):
        endpoint = self.make_endpoint("/ok", headers='{"X-Tenant": "acme"}')
        delivery = self.enqueue(endpoint, PAYLOAD)
        self.dispatch()

        got = self.receiver.wait_for(1)[0]
        # The reference implementation verifies the signature and gives back
        # the payload, in the shape Odoo's own webhooks have.
        self.assertEqual(
            Webhook(endpoint.sudo().secret).verify(got.body, got.headers), PAYLOAD
        )
        self.assertEqual(got.headers["webhook-id"], delivery.uuid)
        self.assertEqual(got.headers["x-tenant"], "acme")
        self.assertEqual(got.headers["content-type"], "application/json")
        self.assertRecordValues(
            delivery,
            [
                {
                    "state": "delivered",
                    "attempt_count": 1,
                    "last_status_code": 200,
                    "last_error": False,
                    "next_attempt_at": False,
                }
            ],
        )
        self.assertTrue(delivery.delivered_at)
        self.assertRecordValues(
            delivery.attempt_ids,
            [
                {
                    "status_code": 200,
                    "response_excerpt": "ok",
                    "error": False,
                    "succeeded": True,
                }
            ],
        )
        self.assertGreaterEqual(delivery.attempt_ids.duration_ms, 0)
        self.assertEqual(endpoint.consecutive_failures, 0)
        self.assertTrue(endpoint.last_success_at)
        self.assertEqual(endpoint.health, "healthy")

    def test_retry_then_success_keeps_the_webhook_id(self):
        endpoint = self.make_endpoint("/script/flaky")
        self.receiver.scripts["flaky"].append((500, {}, b"database is down"))
        delivery = self.enqueue(endpoint)

        self.dispatch()
        self.assertRecordValues(
            delivery,
            [
                {
                    "state": "retrying",
                    "attempt_count": 1,
                    "last_status_code": 500,
                    "last_error": "HTTP 500: database is down",
                }
            ],
        )
        # First step of the default schedule: 5 s, give or take 10%.
        self.assertDueIn(delivery, 4.5, 5.5)
        self.assertEqual(endpoint.consecutive_failures, 1)
        self.assertEqual(endpoint.health, "failing")

        self.dispatch()  # not due yet: nothing is sent
        self.assertEqual(len(self.receiver.requests), 1)

        self.make_due(delivery)
        self.dispatch()
        first, second = self.receiver.wait_for(2)
        self.assertEqual(delivery.state, "delivered")
        self.assertEqual(delivery.attempt_count, 2)
        self.assertEqual(first.headers["webhook-id"], delivery.uuid)
        self.assertEqual(second.headers["webhook-id"], delivery.uuid)
        self.assertEqual(first.body, second.body)
        self.assertEqual(delivery.attempt_ids.mapped("status_code"), [200, 500])
        self.assertEqual(endpoint.consecutive_failures, 0)
        self.assertFalse(endpoint.failing_since)

    def test_retry_after_replaces_the_step_and_is_capped(self):
        slow_down = self.enqueue(self.make_endpoint("/status/429?retry_after=120"))
        unavailable = self.enqueue(self.make_endpoint("/status/503?retry_after=864000"))
        ignored = self.enqueue(self.make_endpoint("/status/500?retry_after=120"))
        self.dispatch()
        self.assertEqual(
            (slow_down | unavailable | ignored).mapped("state"), ["retrying"] * 3
        )
        self.assertDueIn(slow_down, 120, 120)
        self.assertDueIn(unavailable, 24 * 3600, 24 * 3600)
        # Retry-After means something only on 429 and 503.
        self.assertDueIn(ignored, 4.5, 5.5)

    def test_gone_disables_the_endpoint_and_deliveries_wait(self):
        manager = new_test_user(
            self.env,
            login="ig_webhook_manager",
            groups="base.group_user,integration_gateway.group_integration_manager",
        )
        endpoint = self.make_endpoint("/status/410")
        first = self.enqueue(endpoint)
        self.dispatch()
        self.assertTrue(endpoint.disabled_at)
        self.assertEqual(endpoint.disabled_reason, "the receiver answered 410 Gone")
        self.assertEqual(endpoint.health, "disabled")
        self.assertEqual(first.state, "pending")
        notice = endpoint.message_ids.filtered(
            lambda m: "was disabled" in (m.body or "")
        )
        self.assertIn(manager.partner_id, notice.partner_ids)

        # New events to a disabled endpoint wait; nothing is dropped.
        second = self.enqueue(endpoint)
        self.dispatch()
        self.assertEqual(len(self.receiver.requests), 1)
        self.assertEqual((first | second).mapped("state"), ["pending", "pending"])

        endpoint.url = self.receiver.url("/ok")
        endpoint.action_enable()
        self.assertEqual(endpoint.health, "healthy")
        self.dispatch()
        self.assertEqual((first | second).mapped("state"), ["delivered", "delivered"])
        self.assertEqual(len(self.receiver.wait_for(3)), 3)

    def test_gone_disables_even_after_a_success_in_the_same_batch(self):
        endpoint = self.make_endpoint("/script/moved")
        self.receiver.scripts["moved"].extend([(200, {}, b"ok"), (410, {}, b"gone")])
        deliveries = self.enqueue(endpoint) | self.enqueue(endpoint)
        self.dispatch()
        self.assertEqual(len(self.receiver.wait_for(2)), 2)
        self.assertEqual(sorted(deliveries.mapped("state")), ["delivered", "pending"])
        self.assertTrue(endpoint.disabled_at)
        self.assertEqual(endpoint.disabled_reason, "the receiver answered 410 Gone")
        self.dispatch()
        self.assertEqual(len(self.receiver.requests), 2, "disabled: nothing is sent")

    def test_an_attempt_without_answer_clears_the_last_status(self):
        endpoint = self.make_endpoint("/status/500", timeout=1)
        delivery = self.enqueue(endpoint)
        self.dispatch()
        self.assertEqual(delivery.last_status_code, 500)
        endpoint.url = self.receiver.url("/hang")
        self.make_due(delivery)
        self.dispatch()
        self.assertRecordValues(
            delivery,
            [
                {
                    "state": "retrying",
                    "attempt_count": 2,
                    "last_status_code": 0,
                    "last_error": "timed out after 1 s",
                }
            ],
        )

    def test_dead_after_the_last_step(self):
        endpoint = self.make_endpoint("/status/500", retry_schedule="1s,1m")
        delivery = self.enqueue(endpoint)
        self.dispatch()
        self.assertDueIn(delivery, 0.9, 1.1)
        self.make_due(delivery)
        self.dispatch()
        self.assertDueIn(delivery, 54, 66)
        self.make_due(delivery)
        self.dispatch()
        self.assertRecordValues(
            delivery,
            [{"state": "dead", "attempt_count": 3, "next_attempt_at": False}],
        )
        self.assertEqual(len(delivery.attempt_ids), 3)
        self.assertEqual(len(self.receiver.requests), 3)
        self.assertEqual(endpoint.consecutive_failures, 3)
        self.make_due(delivery)
        self.dispatch()
        self.assertEqual(len(self.receiver.requests), 3, "a dead delivery is not sent")

    def test_five_days_without_success_disables(self):
        endpoint = self.make_endpoint("/status/500")
        endpoint.write(
            {
                "failing_since": fields.Datetime.now() - timedelta(days=5, minutes=1),
                "consecutive_failures": 40,
            }
        )
        delivery = self.enqueue(endpoint)
        self.dispatch()
        self.assertTrue(endpoint.disabled_at)
        self.assertIn("no successful delivery since", endpoint.disabled_reason)
        self.assertEqual(endpoint.consecutive_failures, 41)
        self.assertEqual(delivery.state, "retrying")
        self.make_due(delivery)
        self.dispatch()
        self.assertEqual(
            len(self.receiver.requests), 1, "disabled: nothing more is sent"
        )

    def test_four_days_of_failures_do_not_disable(self):
        endpoint = self.make_endpoint("/status/500")
        endpoint.failing_since = fields.Datetime.now() - timedelta(days=4)
        delivery = self.enqueue(endpoint)
        self.dispatch()
        self.assertEqual(len(self.receiver.wait_for(1)), 1)
        self.assertEqual(delivery.state, "retrying")
        self.assertEqual(endpoint.consecutive_failures, 1)
        self.assertFalse(endpoint.disabled_at)

    def test_archived_endpoint_keeps_its_deliveries_waiting(self):
        endpoint = self.make_endpoint("/ok")
        delivery = self.enqueue(endpoint)
        endpoint.action_archive()
        self.dispatch()
        self.assertEqual(delivery.state, "pending")
        self.assertFalse(self.receiver.requests)
        endpoint.action_unarchive()
        self.dispatch()
        self.assertEqual(delivery.state, "delivered")

    def test_timeouts_and_redirects_are_retried(self):
        hanging = self.enqueue(self.make_endpoint("/hang", timeout=1))
        target = self.receiver.url("/ok")
        moved = self.enqueue(self.make_endpoint(f"/status/302?location={target}"))
        self.dispatch()
        self.assertRecordValues(
            hanging,
            [
                {
                    "state": "retrying",
                    "last_error": "timed out after 1 s",
                    "last_status_code": 0,
                }
            ],
        )
        self.assertRecordValues(moved, [{"state": "retrying", "last_status_code": 302}])
        paths = sorted(r.path for r in self.receiver.requests)
        self.assertEqual(paths, ["/hang", f"/status/302?location={target}"])

    def test_ssrf_guard_refuses_private_addresses(self):
        for host in ("127.0.0.1", "localhost"):
            endpoint = self.Endpoint.create(
                {"name": f"internal {host}", "url": self.receiver.url("/ok", host=host)}
            )
            delivery = self.enqueue(endpoint)
            self.dispatch()
            self.assertEqual(delivery.state, "retrying")
            self.assertIn("loopback address", delivery.last_error)
            self.assertIn("does not allow private networks", delivery.attempt_ids.error)
        self.assertFalse(self.receiver.requests, "no request reached the receiver")

    def test_secret_rotation_signs_with_both_during_the_grace_period(self):
        endpoint = self.make_endpoint("/ok")
        old_secret = endpoint.sudo().secret
        endpoint.action_rotate_secret()
        new_secret = endpoint.sudo().secret
        self.assertNotEqual(new_secret, old_secret)
        self.assertTrue(new_secret.startswith("whsec_"))
        self.assertEqual(endpoint.sudo().previous_secret, old_secret)
        self.assertAlmostEqual(
            endpoint.previous_secret_expires_at,
            fields.Datetime.now() + timedelta(hours=24),
            delta=timedelta(seconds=5),
        )
        self.enqueue(endpoint, PAYLOAD)
        self.dispatch()
        got = self.receiver.wait_for(1)[0]
        self.assertEqual(len(got.headers["webhook-signature"].split()), 2)
        self.assertEqual(Webhook(old_secret).verify(got.body, got.headers), PAYLOAD)
        self.assertEqual(Webhook(new_secret).verify(got.body, got.headers), PAYLOAD)

        # Once the grace period is over only the new secret signs.
        endpoint.previous_secret_expires_at = fields.Datetime.now() - timedelta(
            seconds=1
        )
        self.enqueue(endpoint, PAYLOAD)
        self.dispatch()
        got = self.receiver.wait_for(2)[1]
        self.assertEqual(len(got.headers["webhook-signature"].split()), 1)
        self.assertEqual(Webhook(new_secret).verify(got.body, got.headers), PAYLOAD)
        with self.assertRaises(WebhookVerificationError):
            Webhook(old_secret).verify(got.body, got.headers)

    def test_lease_is_reclaimed_after_a_crash(self):
        endpoint = self.make_endpoint("/ok")
        delivery = self.enqueue(endpoint)
        # A dispatcher claims the delivery, commits, then dies before sending.
        with self.enter_registry_test_mode(), self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            crashed, _messages, _settings = env[
                "integration.webhook.dispatcher"
            ]._claim(10)
        self.assertEqual(delivery.state, "sending")
        lease = (delivery.lease_expires_at - fields.Datetime.now()).total_seconds()
        self.assertAlmostEqual(lease, 120, delta=2)

        self.dispatch()
        self.assertFalse(self.receiver.requests, "a leased delivery is left alone")

        delivery.lease_expires_at = fields.Datetime.now() - timedelta(seconds=1)
        self.dispatch()
        got = self.receiver.wait_for(1)[0]
        self.assertEqual(got.headers["webhook-id"], delivery.uuid)
        self.assertEqual(delivery.state, "delivered")

        # Should the first dispatcher wake up and record its stale claim, the
        # delivery's new outcome stands.
        with self.enter_registry_test_mode(), self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            failed = sender.Result(started_at=time.time(), error="late")
            env["integration.webhook.dispatcher"]._record(crashed, [failed])
        self.assertEqual(delivery.state, "delivered")
        self.assertEqual(delivery.attempt_count, 1)

    def test_throttle_spaces_requests(self):
        endpoint = self.make_endpoint("/ok", max_per_second=5)
        for _ in range(4):
            self.enqueue(endpoint)
        self.dispatch()
        arrivals = [r.at for r in self.receiver.wait_for(4)]
        gaps = [b - a for a, b in itertools.pairwise(arrivals)]
        self.assertTrue(all(gap >= 0.15 for gap in gaps), gaps)
        self.assertEqual(
            self.Delivery.search([("endpoint_id", "=", endpoint.id)]).mapped("state"),
            ["delivered"] * 4,
        )

    def test_request_that_cannot_finish_within_the_lease_waits(self):
        endpoint = self.make_endpoint("/ok", timeout=5)
        delivery = self.enqueue(endpoint)
        # With 2 s of lease left after the margin, a 5 s request may not start.
        with patch.object(integration_webhook_dispatcher, "LEASE", 12):
            self.dispatch()
        self.assertFalse(self.receiver.requests)
        self.assertRecordValues(
            delivery, [{"state": "pending", "attempt_count": 0, "lease_token": False}]
        )
        self.assertFalse(delivery.attempt_ids)

    def test_queueing_wakes_one_dispatcher_at_commit(self):
        crons = self.Dispatcher._crons()
        self.assertEqual(len(crons), 2, "two dispatchers by default")
        endpoint = self.make_endpoint("/ok")
        with RecordCapturer(
            self.env["ir.cron.trigger"], [("cron_id", "in", crons.ids)]
        ) as capture:
            self.enqueue(endpoint)
            self.enqueue(endpoint)
            self.assertFalse(capture.records, "nothing is triggered before commit")
            self.env.cr.flush()  # what commit does first: run the pre-commit hooks
        self.assertEqual(len(capture.records), 1)

    def run_cron_job(self, number=1):
        """Runs dispatcher cron ``number`` as the cron threads do."""
        cron = self.env.ref(f"integration_gateway.ir_cron_webhook_dispatcher_{number}")
        job = {
            **cron.read(load=None)[0],
            "done": 0,
            "remaining": 0,
            "timed_out_counter": 0,
        }
        with self.enter_registry_test_mode(), self.registry.cursor() as cr:
            self.registry["ir.cron"]._process_job(cr, job)
        return cron

    def test_cron_job_waits_for_a_retry_due_within_seconds(self):
        endpoint = self.make_endpoint("/script/blip", retry_schedule="1s,1h")
        self.receiver.scripts["blip"].append((502, {}, b"restarting"))
        delivery = self.enqueue(endpoint)
        start = time.monotonic()
        self.run_cron_job()
        self.assertEqual(len(self.receiver.wait_for(2)), 2)
        self.assertEqual(delivery.state, "delivered")
        self.assertLess(time.monotonic() - start, 5)

    def test_cron_job_reports_progress_and_drains_the_queue(self):
        endpoint = self.make_endpoint("/ok")
        count = 2 * integration_webhook_dispatcher.BATCH_SIZE + 10
        self.Delivery.create(
            [
                {"endpoint_id": endpoint.id, "payload": json.dumps({"n": n})}
                for n in range(count)
            ]
        )
        Progress = type(self.env["ir.cron.progress"])
        progress_writes = []
        write = Progress.write

        def counted_write(progress, vals):
            progress_writes.append(vals)
            return write(progress, vals)

        with (
            RecordCapturer(self.env["ir.cron.trigger"], []) as triggers,
            patch.object(Progress, "write", counted_write),
        ):
            cron = self.run_cron_job()
        # Written once per batch and per round of the cron's loop, not at
        # every commit of outcomes (a few requests each: over 50 here).
        self.assertLess(len(progress_writes), count / 20)
        undelivered = self.Delivery.search(
            [("endpoint_id", "=", endpoint.id), ("state", "!=", "delivered")]
        )
        self.assertFalse(
            undelivered, [(d.state, d.attempt_ids.mapped("error")) for d in undelivered]
        )
        self.assertEqual(len(self.receiver.wait_for(count)), count)
        progress = self.env["ir.cron.progress"].search([("cron_id", "=", cron.id)])
        self.assertEqual(sum(progress.mapped("done")), count)
        # More than a batch was waiting: the other dispatcher was asked to help.
        other = self.env.ref("integration_gateway.ir_cron_webhook_dispatcher_2")
        self.assertIn(other, triggers.records.cron_id)
