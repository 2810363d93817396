"""Counters the client does not wait for: written once the answer is sent
(``plumbing.after_response``), over real HTTP against the test server.

Each test holds the counter's write until the test has received its answer.
Were the counter written before the answer, the answer would wait for the
write and the write for the answer: the write gives up after HOLD seconds
and says it ran first.
"""

import json
import threading
from unittest.mock import patch

from werkzeug.wrappers import Response

from odoo import http
from odoo.tests import HttpCase, TransactionCase

from odoo.addons.integration_gateway import plumbing
from odoo.addons.integration_gateway.lib import ratelimit
from odoo.addons.integration_gateway.lib.api_usage import usage_tally
from odoo.addons.integration_gateway.models import integration_metrics, ir_cron

from ..common import ApiKeyMixin
from ..incoming.test_incoming_webhooks import IncomingWebhookCase

HOLD = 5  # seconds a held write waits for the answer


class _Held:
    """Wraps ``function`` so that it waits until ``answered`` is set, and
    records whether it had to give up."""

    def __init__(self, function):
        self.function = function
        self.answered = threading.Event()
        self.calls = []  # per call: whether the answer had been received

    def method(self):
        """The wrapper, to put on a class in place of ``function``."""

        def held(*args, **kwargs):
            self.calls.append(self.answered.wait(HOLD))
            return self.function(*args, **kwargs)

        return held


class TestKeyUsageAfterAnswer(ApiKeyMixin, HttpCase):
    def test_usage_of_a_key_without_limit_is_counted_after_the_answer(self):
        token, key = self.issue_key(self.env.ref("base.user_admin"))
        held = _Held(ratelimit.PostgresStorage.count)
        with patch.object(ratelimit.PostgresStorage, "count", held.method()):
            # Not url_open, which waits for that work (tools/pytest_isolation).
            response = self.opener.post(
                f"{self.base_url()}/json/2/res.partner/search_count",
                data=json.dumps({"domain": []}),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                },
                timeout=30,
            )
            held.answered.set()
            self.assertTrue(plumbing.wait_for_work_after_responses(HOLD * 2))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(held.calls, [True], "the answer waited for the count")
        tally = usage_tally(key.id, key.create_date.date())
        Limiter = self.env["integration.rate.limiter"]
        counts = Limiter._drain(tally)
        self.assertEqual(counts, {tally: {"allowed": 1}})


class TestAcceptedCallsAfterAnswer(IncomingWebhookCase):
    def test_accepted_call_is_counted_after_the_answer(self):
        validator = self._unsigned_validator()
        automation = self._automation(validator)
        Metrics = self.env["integration.metrics"]
        queries = []
        count_query = type(Metrics)._count_query

        def count_query_seen(metrics, series, *args):
            queries.append(series)
            return count_query(metrics, series, *args)

        held = _Held(integration_metrics.Connections.cursor)
        with (
            patch.object(type(Metrics), "_count_query", count_query_seen),
            patch.object(integration_metrics.Connections, "cursor", held.method()),
        ):
            response = self.opener.post(
                f"{self.base_url()}/web/hook/{automation.webhook_uuid}?ref=ACME-1",
                data=b"ping",
                headers={"Content-Type": "text/plain"},
                timeout=30,
            )
            held.answered.set()
            self.assertTrue(plumbing.wait_for_work_after_responses(HOLD * 2))
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(self._runs(), 1)
        self.assertEqual(queries, [integration_metrics.ACCEPTED])
        self.assertEqual(held.calls, [True], "the answer waited for the count")


class _Request:
    """What ``after_response`` needs of a request: attributes."""


class _InRequest:
    def _in_request(self):
        request = _Request()
        http._request_stack.push(request)
        self.addCleanup(http._request_stack.pop)
        return request


class TestAfterResponse(_InRequest, TransactionCase):
    def test_outside_of_a_request_work_is_done_at_once(self):
        done = []
        plumbing.after_response(lambda: done.append(1))
        self.assertEqual(done, [1])

    def test_work_is_done_when_the_sent_answer_is_closed(self):
        self._in_request()
        done = []
        plumbing.after_response(lambda: done.append("registered before"))
        discarded = Response("retried")
        plumbing.run_after_response(discarded)
        sent = Response("sent")
        plumbing.run_after_response(sent)
        # Registered once the answer is built (a commit's hook) runs too.
        plumbing.after_response(lambda: done.append("registered after"))
        self.assertEqual(done, [])
        sent.close()
        self.assertEqual(done, ["registered before", "registered after"])
        discarded.close()  # never sent in truth; nothing runs twice
        self.assertEqual(len(done), 2)
        self.assertTrue(plumbing.wait_for_work_after_responses(0))

    def test_failing_work_is_logged_and_the_rest_done(self):
        self._in_request()
        done = []

        def fail():
            raise RuntimeError("storage gone")

        plumbing.after_response(fail)
        plumbing.after_response(lambda: done.append(1))
        answer = Response("sent")
        plumbing.run_after_response(answer)
        with self.assertLogs("odoo.addons.integration_gateway.plumbing", "ERROR"):
            answer.close()
        self.assertEqual(done, [1])
        self.assertTrue(plumbing.wait_for_work_after_responses(0))

    def test_work_of_an_answer_bypassing_ir_http_is_done_next_request(self):
        done = []
        self._in_request()
        plumbing.after_response(lambda: done.append("first"))
        http._request_stack.pop()  # answered without run_after_response
        self.addCleanup(http._request_stack.push, _Request())
        self.assertEqual(done, [])
        self._in_request()
        plumbing.after_response(lambda: done.append("second"))
        self.assertEqual(done, ["first"])
        plumbing.run_after_response(answer := Response("sent"))
        answer.close()
        self.assertEqual(done, ["first", "second"])


class TestCronWakeUpAfterAnswer(_InRequest, TransactionCase):
    # Odoo's test cursors drop post-commit hooks: the commit is played here.
    def test_cron_workers_are_woken_after_the_answer(self):
        woken = []
        with patch.object(ir_cron, "notify_cron_workers", woken.append):
            self._in_request()
            self.env["ir.cron"]._integration_notify_at_commit()
            answer = Response("sent")
            plumbing.run_after_response(answer)
            self.env.cr.postcommit.run()
            self.assertEqual(woken, [], "woken before the answer was sent")
            answer.close()
        self.assertEqual(woken, [self.env.cr.dbname])

    def test_outside_of_a_request_cron_workers_are_woken_at_commit(self):
        woken = []
        with patch.object(ir_cron, "notify_cron_workers", woken.append):
            self.env["ir.cron"]._integration_notify_at_commit()
            self.env.cr.postcommit.run()
        self.assertEqual(woken, [self.env.cr.dbname])
