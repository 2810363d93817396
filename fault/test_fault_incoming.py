"""A validated incoming webhook under a flood of bad calls: malformed,
forged, replayed, oversized and wrongly typed requests, bodies framed by a
transfer coding in any case, NUL bytes, timestamps of hundreds of digits,
message ids longer than an index entry and deeply nested JSON, sent
concurrently to four worker processes. None of them runs the automation,
none gets a 500, and every one is recorded with its reason (repeated
refusals counted on one record)."""

import base64
import collections
import concurrent.futures
import functools
import http.client
import json
import os
import time
import uuid

import pytest
from conftest import FIXTURES, SIZE

from lib import standard_webhooks as sw  # on the path through conftest

pytestmark = pytest.mark.fault

IN_FLIGHT = 8
TOLERANCE = 5  # seconds a signature's timestamp is valid, so replays go stale
MAX_BODY = 4096
ORIGINALS = 5  # valid messages, run once each, later replayed
SCHEMA = {
    "type": "object",
    "required": ["ref", "amount"],
    "properties": {
        "ref": {"type": "string"},
        "amount": {"type": "integer", "minimum": 0},
    },
}

SETUP = FIXTURES / "incoming_validator.py"

COUNTS = FIXTURES / "incoming_counts.py"


class Sender:
    """Builds and sends calls to one webhook."""

    def __init__(self, port, db, webhook_uuid, secret):
        self.port = port
        self.db = db
        self.path = f"/web/hook/{webhook_uuid}"
        self.secret = secret
        self.other_secret = sw.generate_secret()

    def signed(self, body, secret=None, timestamp=None, content_type=None, msg_id=None):
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        headers = sw.sign_headers([secret or self.secret], msg_id, body, timestamp)
        headers["Content-Type"] = content_type or "application/json"
        return headers, body

    def send(self, headers, body, coding=None):
        """Posts one call, its body framed by the transfer coding ``coding``
        when given; (status, JSON answer or None)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            headers = {**headers, "X-Odoo-Database": self.db, "Connection": "close"}
            if coding:
                connection.putrequest("POST", self.path)
                for name, value in headers.items():
                    connection.putheader(name, value)
                connection.putheader("Transfer-Encoding", coding)
                connection.endheaders()
                connection.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
            else:
                connection.request("POST", self.path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read()
        finally:
            connection.close()
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        return response.status, answer


def _valid_body(n):
    return json.dumps({"ref": "FAULT-1", "amount": n}).encode()


def _forged(body, **headers):
    """Headers of a call that no secret signed."""
    return {
        "Content-Type": "application/json",
        "webhook-id": f"msg_{uuid.uuid4().hex}",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "v1,AAAA",
        **headers,
    }, body


def _bad_calls(sender, count):
    """``count`` bad calls, cycling through the kinds: (kind, expected
    status, expected recorded reason, a callable making its headers and
    body, transfer coding). Calls are signed when sent: their timestamps
    must be within the validator's tolerance, unless stale on purpose."""
    kinds = [
        (
            "NUL in a signed body",
            400,
            "not_json",
            lambda n: sender.signed(b'{"ref": "FAULT-1\x00", "amount": 1}'),
        ),
        (
            "NUL in a forged body",
            401,
            "signature",
            lambda n: _forged(b'{"ref": "\x00"}'),
        ),
        (
            "timestamp of 400 digits",
            401,
            "signature",
            lambda n: _forged(_valid_body(n), **{"webhook-timestamp": "9" * 400}),
        ),
        (
            "message id of 6 kB",
            400,
            "message_id",
            lambda n: sender.signed(
                _valid_body(n), msg_id=base64.b64encode(os.urandom(4500)).decode()
            ),
        ),
        (
            "JSON nested 500 levels",
            400,
            "too_deep",
            lambda n: sender.signed(b"[" * 500 + b"]" * 500),
        ),
        ("malformed JSON", 400, "not_json", lambda n: sender.signed(b'{"ref": "FA')),
        (
            "invalid UTF-8",
            400,
            "not_json",
            lambda n: sender.signed(b'{"ref": "\xff\xfe", "amount": 1}'),
        ),
        (
            "forged signature",
            401,
            "signature",
            lambda n: _tampered(sender.signed(_valid_body(n))),
        ),
        (
            "signed with another secret",
            401,
            "signature",
            lambda n: sender.signed(_valid_body(n), secret=sender.other_secret),
        ),
        (
            "no signature",
            401,
            "signature",
            lambda n: ({"Content-Type": "application/json"}, _valid_body(n)),
        ),
        (
            "timestamp an hour old",
            401,
            "signature",
            lambda n: sender.signed(_valid_body(n), timestamp=time.time() - 3600),
        ),
        (
            "oversized",
            413,
            "too_large",
            lambda n: sender.signed(
                json.dumps(
                    {"ref": "FAULT-1", "amount": n, "pad": "x" * MAX_BODY}
                ).encode()
            ),
        ),
        (
            "form body",
            415,
            "content_type",
            lambda n: sender.signed(
                b"ref=FAULT-1&amount=1",
                content_type="application/x-www-form-urlencoded",
            ),
        ),
        (
            "plain text",
            415,
            "content_type",
            lambda n: sender.signed(_valid_body(n), content_type="text/plain"),
        ),
        (
            "amount is a string",
            422,
            "schema",
            lambda n: sender.signed(
                json.dumps({"ref": "FAULT-1", "amount": str(n)}).encode()
            ),
        ),
        (
            "a list, not an object",
            422,
            "schema",
            lambda n: sender.signed(json.dumps([{"ref": "FAULT-1"}]).encode()),
        ),
        (
            "required field missing",
            422,
            "schema",
            lambda n: sender.signed(json.dumps({"ref": "FAULT-1"}).encode()),
        ),
    ]
    codings = ("chunked", "Chunked", "CHUNKED")
    calls = []
    for n in range(count - len(codings)):
        kind, status, reason, make = kinds[n % len(kinds)]
        calls.append((kind, status, reason, functools.partial(make, n), None))
    # A chunked body announces no size, whatever the case of its coding:
    # refused before it is read.
    for coding in codings:
        calls.append(
            (
                f"{coding}, no Content-Length",
                411,
                "length_required",
                lambda: sender.signed(_valid_body(0)),
                coding,
            )
        )
    return calls


def _tampered(signed):
    headers, body = signed
    return headers, body.replace(b'"amount": ', b'"amount": 1')


def test_bad_calls_run_nothing_and_are_all_recorded(shared_gateway, figures):
    gateway = shared_gateway
    setup = gateway.run(SETUP, SCHEMA, TOLERANCE, MAX_BODY)
    sender = Sender(gateway.server.port, gateway.db, setup["uuid"], setup["secret"])
    mark = gateway.log_mark()

    originals = [sender.signed(_valid_body(n)) for n in range(ORIGINALS)]
    signed_at = time.monotonic()
    for headers, body in originals:
        assert sender.send(headers, body) == (200, {"status": "ok"})
    # The sender's retries of a message already processed: acknowledged,
    # not run again.
    for headers, body in originals:
        assert sender.send(headers, body) == (200, {"status": "ok", "duplicate": True})

    calls = _bad_calls(sender, SIZE["bad_requests"] - ORIGINALS)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(IN_FLIGHT) as pool:
        answers = list(
            pool.map(lambda call: sender.send(*call[3](), coding=call[4]), calls)
        )
    # The same signed messages, captured and replayed once their timestamp
    # is out of tolerance.
    time.sleep(max(0, signed_at + TOLERANCE + 1 - time.monotonic()))
    for headers, body in originals:
        calls.append(("replayed later", 401, "signature", None, None))
        answers.append(sender.send(headers, body))
    elapsed = time.monotonic() - started

    wrong = collections.Counter(
        (kind, expected, status)
        for (kind, expected, *_rest), (status, _answer) in zip(
            calls, answers, strict=True
        )
        if status != expected
    )
    assert not wrong, f"(kind, expected, got): count {dict(wrong)}"
    for (kind, _status, reason, *_rest), (_status, answer) in zip(
        calls, answers, strict=True
    ):
        assert answer["status"] == "error" and answer["error"] == reason, (kind, answer)

    counts = gateway.run(COUNTS, setup["validator"])
    assert counts["runs"] == ORIGINALS
    expected = collections.Counter(reason for _kind, _s, reason, *_rest in calls)
    assert counts["rejections"] == dict(expected)
    assert gateway.problems_since(mark) == []
    kinds = collections.Counter(kind for kind, *_rest in calls)
    figures.append(
        f"incoming: {len(calls)} bad calls of {len(kinds)} kinds ({IN_FLIGHT} in "
        f"flight, {elapsed:.1f} s): 0 runs, 0 HTTP 500, {len(calls)} recorded "
        f"({', '.join(f'{n} {r}' for r, n in sorted(expected.items()))}); "
        f"{ORIGINALS} valid messages run once each, their immediate replays "
        "acknowledged as duplicates"
    )
