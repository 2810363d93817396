"""The client snippets of the documentation (examples/, shown in the README)
work against a real Odoo: the JSON/2 clients in Python, JavaScript (Node.js)
and curl honour 429 and Retry-After; the web shop's senders sign what the
validator checks; the warehouse's receivers accept what the dispatcher
signs and refuse a forgery.
"""

import contextlib
import importlib
import json
import os
import resource
import shutil
import socket
import subprocess
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import requests

from odoo import sql_db
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ...lib import standard_webhooks
from ..common import ApiKeyMixin, forget_rate_limits, run_dispatcher
from ..webhook_receiver import WebhookReceiver

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NODE = shutil.which("node") or "node"
# The snippets' servers listen on the first free one of these ports.
PORTS = range(18700, 18750)
ORDER = {
    "ref": "SO-1042",
    "customer": {"name": "Deco Addict", "email": "deco@example.com"},
    "lines": [{"sku": "DESK-01", "qty": 2}],
}
ORDER_SCHEMA = {
    "type": "object",
    "required": ["ref", "customer", "lines"],
    "properties": {
        "ref": {"type": "string"},
        "customer": {"type": "object", "required": ["name", "email"]},
        "lines": {"type": "array", "minItems": 1},
    },
}
# What the shop's automation does with an order: the contact of the order
# (in the scenario, the sales order itself).
RECORD_GETTER = (
    "model.search([('ref', '=', payload['ref'])], limit=1) or model.create("
    "{'name': payload['customer']['name'], 'email': payload['customer']['email'],"
    " 'ref': payload['ref']})"
)


def load_example(name):
    """The example ``examples/<name>.py``, a module of its own (examples/ is
    on the path of tools/test.sh)."""
    return importlib.import_module(name)


def _unlimited_memory():
    # Odoo limits its own address space, and children inherit the limit;
    # Node.js reserves more than that for WebAssembly (its fetch uses some).
    resource.setrlimit(
        resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    )


def free_port():
    for port in PORTS:
        with contextlib.closing(socket.socket()) as probe:
            if probe.connect_ex(("127.0.0.1", port)):
                return port
    raise OSError(f"no free port in {PORTS}")


@tagged("post_install", "-at_install")
class TestExamples(ApiKeyMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(
            cls.env,
            login="ig_example_app",
            groups="base.group_user,base.group_partner_manager",
        )
        cls.partner = cls.env["res.partner"].create(
            {"name": "Example Customer", "is_company": True}
        )

    # -- helpers --------------------------------------------------------------

    @contextlib.contextmanager
    def serving(self):
        """Lets the snippets' requests in: the test server works in this
        test's transaction, which must hold what the test wrote."""
        self.env.flush_all()
        with self.allow_requests(all_requests=True):
            yield
        self.env.invalidate_all()

    def run_example(self, *command, env=None, ok=True):
        """Runs a snippet the way its comment says, against the test server;
        returns what it printed (standard output)."""
        with self.serving():
            # The commands are the examples' own, with test values.
            done = subprocess.run(  # noqa: S603
                command,
                cwd=EXAMPLES,
                env={**os.environ, **(env or {})},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                # pylint: disable-next=subprocess-popen-preexec-fn
                preexec_fn=_unlimited_memory,
            )
        if ok:
            self.assertEqual(done.returncode, 0, done.stderr or done.stdout)
        else:
            self.assertNotEqual(done.returncode, 0, done.stdout)
        return done.stdout

    def make_key(self, rate_limit="2/second", read_only=True):
        policy = self.env["integration.api.policy"].create(
            {
                "name": "Examples",
                "read_only": read_only,
                "rate_limit": rate_limit,
                "rule_ids": [(0, 0, {"model_pattern": "res.partner"})],
            }
        )
        token, _key = self.issue_key(self.user, policy, name="example")
        return token

    def shop_automation(self, rate_limit=False):
        secret = standard_webhooks.generate_secret()
        validator = self.env["integration.webhook.validator"].create(
            {
                "name": "Web shop",
                "signature_scheme": "standard_webhooks",
                "secret": secret,
                "json_schema": json.dumps(ORDER_SCHEMA),
                "rate_limit": rate_limit,
            }
        )
        automation = self.env["base.automation"].create(
            {
                "name": "Web shop order",
                "model_id": self.env.ref("base.model_res_partner").id,
                "trigger": "on_webhook",
                "record_getter": RECORD_GETTER,
                "webhook_validator_id": validator.id,
            }
        )
        self.addCleanup(self._forget_rejections, automation.webhook_uuid)
        self.addCleanup(
            forget_rate_limits, self.env.cr.dbname, f"webhook:{validator.id}:%"
        )
        return automation, secret

    def _forget_rejections(self, webhook_uuid):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "DELETE FROM integration_webhook_rejection WHERE webhook_uuid = %s",
                [webhook_uuid],
            )

    def rejections(self, automation):
        """The reasons of the calls refused, one per call (repeated refusals
        are counted on one record), committed on connections of their own
        (the test's transaction does not see them)."""
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "SELECT reason, count FROM integration_webhook_rejection"
                " WHERE webhook_uuid = %s ORDER BY reason",
                [automation.webhook_uuid],
            )
            return [reason for reason, count in cr.fetchall() for _n in range(count)]

    def ordered(self, ref="SO-1042"):
        return self.env["res.partner"].search([("ref", "=", ref)])

    def dispatch(self):
        run_dispatcher(self)

    def deliver_to(self, url, secret, count=1):
        """Queues ``count`` events to ``url``, signed with ``secret``, and
        sends them; returns the endpoint and the deliveries."""
        endpoint = self.env["integration.webhook.endpoint"].create(
            {
                "name": "Warehouse",
                "url": url,
                "secret": secret,
                "allow_private_network": True,
            }
        )
        deliveries = self.env["integration.webhook.delivery"].browse(
            [
                self.env["integration.webhook.delivery"]
                ._enqueue(
                    endpoint,
                    json.dumps({"_model": "sale.order", "_id": 40 + n, "_action": "x"}),
                )
                .id
                for n in range(count)
            ]
        )
        with self.serving():
            self.dispatch()
        return endpoint, deliveries

    # -- JSON/2 clients -------------------------------------------------------

    def test_python_client_waits_when_rate_limited(self):
        odoo = load_example("odoo_client").OdooClient(self.base_url(), self.make_key())
        started = time.monotonic()
        with (
            self.serving(),
            self.assertLogs("odoo_client", "WARNING") as logs,
        ):
            counts = [
                odoo.call(
                    "res.partner", "search_count", domain=[("is_company", "=", True)]
                )
                for _call in range(4)
            ]
        self.assertEqual(
            set(counts),
            {self.env["res.partner"].search_count([("is_company", "=", True)])},
        )
        self.assertIn("rate limited on res.partner.search_count", logs.output[0])
        self.assertGreaterEqual(time.monotonic() - started, 1, "it waited")

    def test_python_client_raises_the_refusal(self):
        module = load_example("odoo_client")
        odoo = module.OdooClient(self.base_url(), self.make_key(rate_limit=False))
        with (
            self.serving(),
            mute_logger("odoo.http"),
            self.assertRaises(module.OdooError) as refused,
        ):
            odoo.call("res.partner", "write", ids=[self.partner.id], vals={"name": "X"})
        self.assertEqual(refused.exception.status, 403)
        self.assertIn("Policy 'Examples'", refused.exception.message)
        self.assertEqual(self.partner.name, "Example Customer")

    def test_javascript_client_waits_when_rate_limited(self):
        script = (
            "import {OdooClient} from './odoo_client.mjs';"
            "const {ODOO_URL, ODOO_API_KEY, PARTNER_ID} = process.env;"
            "const odoo = new OdooClient(ODOO_URL, ODOO_API_KEY);"
            "const names = [];"
            "for (let i = 0; i < 4; i++) {"
            "  const [p] = await odoo.call('res.partner', 'search_read', {"
            "    domain: [['id', '=', Number(PARTNER_ID)]], fields: ['name']});"
            "  names.push(p.name);"
            "}"
            "console.log(JSON.stringify(names));"
        )
        started = time.monotonic()
        output = self.run_example(
            NODE,
            "--input-type=module",
            "-e",
            script,
            env={
                "ODOO_URL": self.base_url(),
                "ODOO_API_KEY": self.make_key(),
                "PARTNER_ID": str(self.partner.id),
            },
        )
        self.assertEqual(json.loads(output), ["Example Customer"] * 4)
        # Two calls a second: the third had to wait for Retry-After.
        self.assertGreaterEqual(time.monotonic() - started, 1)

    def test_javascript_client_raises_the_refusal(self):
        script = (
            "import {OdooClient, OdooError} from './odoo_client.mjs';"
            "const {ODOO_URL, ODOO_API_KEY} = process.env;"
            "const odoo = new OdooClient(ODOO_URL, ODOO_API_KEY);"
            "try { await odoo.call('res.users', 'search_count', {domain: []}); }"
            "catch (e) {"
            "  const seen = [e instanceof OdooError, e.status, e.message];"
            "  console.log(JSON.stringify(seen));"
            "}"
        )
        with mute_logger("odoo.http"):
            output = self.run_example(
                NODE,
                "--input-type=module",
                "-e",
                script,
                env={"ODOO_URL": self.base_url(), "ODOO_API_KEY": self.make_key()},
            )
        is_odoo_error, status, message = json.loads(output)
        self.assertTrue(is_odoo_error)
        self.assertEqual(status, 403)
        self.assertIn("res.users.search_count", message)

    def test_curl_client_waits_when_rate_limited(self):
        env = {"ODOO_URL": self.base_url(), "ODOO_API_KEY": self.make_key()}
        params = json.dumps(
            {"domain": [["id", "=", self.partner.id]], "fields": ["name"]}
        )
        started = time.monotonic()
        answers = [
            self.run_example(
                "./odoo_client.sh", "res.partner", "search_read", params, env=env
            )
            for _call in range(4)
        ]
        self.assertEqual(
            [json.loads(answer) for answer in answers],
            [[{"id": self.partner.id, "name": "Example Customer"}]] * 4,
        )
        self.assertGreaterEqual(time.monotonic() - started, 1)

    # -- the web shop's senders ----------------------------------------------

    def test_python_shop_sender(self):
        automation, secret = self.shop_automation(rate_limit="1/second")
        send_order = load_example("shop_webhook").send_order
        with self.serving():
            first = send_order(automation.url, secret, ORDER)
            # The same order again, at once: over the rate limit (429) first,
            # then acknowledged as a duplicate.
            again = send_order(automation.url, secret, ORDER)
            with self.assertRaises(requests.HTTPError) as refused:
                send_order(
                    automation.url, secret, {**ORDER, "ref": "SO-9", "lines": []}
                )
        self.assertEqual(first, {"status": "ok"})
        self.assertEqual(again, {"status": "ok", "duplicate": True})
        self.assertEqual(refused.exception.response.status_code, 422)
        self.assertEqual(len(self.ordered()), 1)
        # Both sends after the first were refused for the rate limit before
        # they went through.
        reasons = self.rejections(automation)
        self.assertEqual(reasons[-1], "schema")
        self.assertGreaterEqual(reasons.count("rate_limit"), 2)

    def test_javascript_shop_sender(self):
        automation, secret = self.shop_automation()
        script = (
            "import {sendOrder} from './shop_webhook.mjs';"
            "const order = JSON.parse(process.env.ORDER);"
            "const url = process.env.ODOO_WEBHOOK_URL;"
            "const secret = process.env.ODOO_WEBHOOK_SECRET;"
            "console.log(JSON.stringify([await sendOrder(url, secret, order),"
            " await sendOrder(url, secret, order)]));"
        )
        output = self.run_example(
            NODE,
            "--input-type=module",
            "-e",
            script,
            env={
                "ODOO_WEBHOOK_URL": automation.url,
                "ODOO_WEBHOOK_SECRET": secret,
                "ORDER": json.dumps(ORDER),
            },
        )
        self.assertEqual(
            json.loads(output), [{"status": "ok"}, {"status": "ok", "duplicate": True}]
        )
        self.assertEqual(self.ordered().email, "deco@example.com")

    def test_curl_shop_sender(self):
        automation, secret = self.shop_automation()
        order_file = EXAMPLES.parent / ".build" / "order.json"
        order_file.parent.mkdir(exist_ok=True)
        order_file.write_text(json.dumps(ORDER, indent=2) + "\n")
        self.addCleanup(order_file.unlink)
        env = {"ODOO_WEBHOOK_URL": automation.url, "ODOO_WEBHOOK_SECRET": secret}
        output = self.run_example(
            "./shop_webhook.sh", str(order_file), "SO-1042", env=env
        )
        self.assertEqual(json.loads(output), {"status": "ok"})
        self.assertEqual(len(self.ordered()), 1)
        # A wrong secret: refused with 401, which curl reports.
        env["ODOO_WEBHOOK_SECRET"] = standard_webhooks.generate_secret()
        refused = self.run_example(
            "./shop_webhook.sh", str(order_file), "SO-1043", env=env, ok=False
        )
        self.assertEqual(json.loads(refused)["error"], "signature")
        self.assertEqual(self.rejections(automation), ["signature"])

    # -- the warehouse's receivers --------------------------------------------

    def test_python_warehouse_receiver(self):
        module = load_example("warehouse_receiver")
        events = []
        secret = standard_webhooks.generate_secret()
        port = free_port()
        server = ThreadingHTTPServer(
            ("127.0.0.1", port), module.make_handler(secret, events.append)
        )
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)

        endpoint, deliveries = self.deliver_to(
            f"http://127.0.0.1:{port}/orders", secret, 2
        )
        self.assertEqual(deliveries.mapped("state"), ["delivered", "delivered"])
        self.assertEqual(sorted(event["_id"] for event in events), [40, 41])
        # Sent again (e.g. an answer lost on the way): handled once.
        deliveries[0].write({"state": "cancelled"})
        deliveries[0].action_requeue()
        with self.serving():
            self.dispatch()
        self.assertEqual(deliveries[0].state, "delivered")
        self.assertEqual(len(events), 2)
        # During a rotation both secrets sign: either verifies.
        endpoint.action_rotate_secret()
        body = b'{"_id": 1}'
        headers = standard_webhooks.sign_headers(
            endpoint._signing_secrets(), "msg-1", body
        )
        self.assertEqual(module.verify(secret, headers, body), {"_id": 1})
        with self.assertRaises(module.InvalidSignature):
            module.verify(secret, headers, b'{"_id": 2}')
        with self.assertRaises(module.InvalidSignature):
            module.verify(
                secret,
                {**headers, "webhook-timestamp": str(int(time.time()) - 3600)},
                body,
            )

    def test_javascript_warehouse_receiver(self):
        port = free_port()
        secret = standard_webhooks.generate_secret()
        with self.serving():
            node = subprocess.Popen(  # noqa: S603 (the example's own command)
                [NODE, "warehouse_receiver.mjs"],
                cwd=EXAMPLES,
                env={
                    **os.environ,
                    "ODOO_WEBHOOK_SECRET": secret,
                    "PORT": str(port),
                    "HOST": "127.0.0.1",
                },
                stdout=subprocess.PIPE,
                text=True,
                # pylint: disable-next=subprocess-popen-preexec-fn
                preexec_fn=_unlimited_memory,  # noqa: PLW1509 (one setrlimit call)
            )
        self.addCleanup(node.wait, 5)
        self.addCleanup(node.terminate)
        deadline = time.monotonic() + 10
        while socket.socket().connect_ex(("127.0.0.1", port)):
            self.assertLess(time.monotonic(), deadline, "the receiver did not start")
            time.sleep(0.05)

        _endpoint, deliveries = self.deliver_to(
            f"http://127.0.0.1:{port}/orders", secret
        )
        self.assertEqual(deliveries.state, "delivered")
        self.assertEqual(deliveries.last_status_code, 204)
        self.assertEqual(json.loads(node.stdout.readline())["_id"], 40)
        forged = requests.post(
            f"http://127.0.0.1:{port}/orders",
            data=b'{"_id": 666}',
            headers=standard_webhooks.sign_headers(
                [standard_webhooks.generate_secret()], "msg-2", b'{"_id": 666}'
            ),
            timeout=10,
        )
        self.assertEqual(forged.status_code, 401)

    # -- Ed25519 (v1a) on the receiver's side ---------------------------------

    def verify_with_node(self, public_key, received, body=None):
        """Runs the Node.js v1a snippet on a request the test receiver got;
        returns its exit code and output."""
        request = {
            "headers": received.headers,
            "body": (received.body if body is None else body).decode(),
        }
        done = subprocess.run(  # noqa: S603 (the example's own command)
            [NODE, "verify_ed25519.mjs"],
            cwd=EXAMPLES,
            env={**os.environ, "ODOO_WEBHOOK_PUBLIC_KEY": public_key},
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            # pylint: disable-next=subprocess-popen-preexec-fn
            preexec_fn=_unlimited_memory,
        )
        return done.returncode, done.stdout or done.stderr

    def test_receivers_verify_ed25519_signatures(self):
        module = load_example("verify_ed25519")
        with WebhookReceiver() as receiver:
            endpoint = self.env["integration.webhook.endpoint"].create(
                {
                    "name": "Warehouse (Ed25519)",
                    "url": receiver.url("/ok"),
                    "signature_algorithm": "ed25519",
                    "allow_private_network": True,
                }
            )
            self.env["integration.webhook.delivery"]._enqueue(
                endpoint, json.dumps({"_model": "sale.order", "_id": 40})
            )
            with self.serving():
                self.dispatch()
            (received,) = receiver.wait_for(1)
            # With the public key only: Node's crypto.verify and Python's
            # cryptography accept what the dispatcher signed.
            public_key = endpoint.public_key
            self.assertEqual(
                self.verify_with_node(public_key, received),
                (0, '{"_model":"sale.order","_id":40}\n'),
            )
            self.assertEqual(
                module.verify(public_key, received.headers, received.body)["_id"], 40
            )
            forged = received.body.replace(b"40", b"41")
            code, output = self.verify_with_node(public_key, received, forged)
            self.assertEqual((code, output), (1, "refused: no valid signature\n"))
            with self.assertRaises(module.InvalidSignature):
                module.verify(public_key, received.headers, forged)
            other = standard_webhooks.public_key(
                standard_webhooks.generate_signing_key()
            )
            self.assertEqual(self.verify_with_node(other, received)[0], 1)

            # During a rotation both keys sign: the receiver's old public key
            # still verifies.
            endpoint.action_rotate_secret()
            receiver.clear()
            self.env["integration.webhook.delivery"]._enqueue(
                endpoint, json.dumps({"_model": "sale.order", "_id": 42})
            )
            with self.serving():
                self.dispatch()
            (received,) = receiver.wait_for(1)
            for key in (public_key, endpoint.public_key):
                self.assertEqual(self.verify_with_node(key, received)[0], 0)
                self.assertEqual(
                    module.verify(key, received.headers, received.body)["_id"], 42
                )
