"""lib.webhook_input and the hostile inputs of every scheme: whatever a
caller puts in a body or a header (huge numbers, NUL, bytes that are not
UTF-8, many signatures, deep nesting), a check ends in a Rejection or a
SignatureError saying why, never in another exception."""

import doctest
import io
import json
import sys
import time
from datetime import datetime

import pytest

from odoo.addons.integration_gateway.lib import standard_webhooks as sw
from odoo.addons.integration_gateway.lib import webhook_input as wi
from odoo.addons.integration_gateway.lib import webhook_signatures as ws
from odoo.addons.integration_gateway.lib import webhook_validation as wv

SECRET = "shared-secret"
BODY = json.dumps({"id": "evt_1", "amount": 10}).encode()
RECURSIVE_SCHEMA = json.dumps(
    {
        "$ref": "#/$defs/node",
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"child": {"$ref": "#/$defs/node"}},
            }
        },
    }
)
HUGE_NUMBERS = ["9" * 309, "9" * 400, "9" * 4300, "9" * 5000]
NOT_UNIX_TIMES = [*HUGE_NUMBERS, "", "-1", "+1700000000", "1_700_000_000", "١٧٠٠"]


@pytest.mark.parametrize("module", [wi, sw])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted and not result.failed


def _nested(depth):
    value = {}
    for _level in range(depth - 1):
        value = {"child": value}
    return value


# Framing and size ----------------------------------------------------------------


class TrickleStream(io.RawIOBase):
    """Answers each read with at most ``step`` bytes, as werkzeug's stream of
    a chunked body does (one chunk at a time)."""

    def __init__(self, data, step):
        super().__init__()
        self.data, self.step, self.read_bytes = data, step, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        size = min(len(buffer), self.step)
        chunk = self.data[self.read_bytes : self.read_bytes + size]
        buffer[: len(chunk)] = chunk
        self.read_bytes += len(chunk)
        return len(chunk)


def test_read_capped_reads_short_reads_to_the_end():
    assert wi.read_capped(TrickleStream(b"x" * 1000, 7), 1000) == b"x" * 1000


def test_read_capped_stops_one_byte_past_the_limit():
    stream = TrickleStream(b"x" * (50 * 1024 * 1024), 4096)
    with pytest.raises(wi.BodyTooLarge):
        wi.read_capped(stream, 100)
    assert stream.read_bytes <= 4096


def test_read_capped_empty_body():
    assert wi.read_capped(io.BytesIO(b""), 10) == b""


@pytest.mark.parametrize(
    "coding", ["chunked", "Chunked", "CHUNKED", " chunked ", "gzip, chunked", "x"]
)
def test_any_transfer_coding_asks_for_a_length(coding):
    assert wi.has_transfer_coding(coding)
    settings = wv.Settings()
    for length in (None, 10):
        with pytest.raises(wv.Rejection) as refused:
            settings.check_transport(length, "application/json", chunked=True)
        assert (refused.value.reason, refused.value.status) == (
            "length_required",
            411,
        )


# Timestamps --------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", NOT_UNIX_TIMES)
def test_standard_webhooks_timestamp_that_is_not_a_unix_time(timestamp):
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": timestamp or " ",
        "webhook-signature": "v1,AAAA",
    }
    with pytest.raises(ws.SignatureError, match="not a Unix time"):
        ws.verify("standard_webhooks", [sw.generate_secret()], headers, BODY)


@pytest.mark.parametrize("timestamp", NOT_UNIX_TIMES)
def test_stripe_timestamp_that_is_not_a_unix_time(timestamp):
    headers = {"Stripe-Signature": f"t={timestamp},v1=00"}
    with pytest.raises(ws.SignatureError, match="not a Unix time"):
        ws.verify("stripe", [SECRET], headers, BODY)


def test_huge_timestamp_is_a_refusal_with_its_reason():
    settings = wv.Settings(scheme="stripe", secrets=(SECRET,))
    call = wv.Call(
        "application/json",
        "192.0.2.1",
        {"Stripe-Signature": f"t={'9' * 400},v1=00"},
        BODY,
    )
    with pytest.raises(wv.Rejection) as refused:
        settings.check_message(call)
    assert refused.value.status == 401
    assert "not a Unix time" in refused.value.message


# Signature headers ---------------------------------------------------------------


def test_standard_webhooks_too_many_signatures():
    secret = sw.generate_secret()
    headers = sw.sign_headers([secret], "msg_1", BODY)
    headers["webhook-signature"] = " ".join(
        ["v1,AAAA"] * sw.MAX_SIGNATURES + [headers["webhook-signature"]]
    )
    with pytest.raises(ws.SignatureError, match="at most 16"):
        ws.verify("standard_webhooks", [secret], headers, BODY)


def test_standard_webhooks_a_few_signatures_are_accepted():
    secret = sw.generate_secret()
    headers = sw.sign_headers([sw.generate_secret(), secret], "msg_1", BODY)
    ws.verify("standard_webhooks", [secret], headers, BODY)


def test_stripe_too_many_signatures():
    header = f"t={int(time.time())}," + ",".join(["v1=00"] * 40)
    with pytest.raises(ws.SignatureError, match="at most 16"):
        ws.verify("stripe", [SECRET], {"Stripe-Signature": header}, BODY)


NUL_AND_WORSE = ["\x00", "a\x00b", "\udcff", "\ud800x", "ÿþ", "x" * 60000]


@pytest.mark.parametrize("value", NUL_AND_WORSE)
@pytest.mark.parametrize(
    "scheme, header",
    [
        ("github", "X-Hub-Signature-256"),
        ("shopify", "X-Shopify-Hmac-Sha256"),
        ("stripe", "Stripe-Signature"),
        ("custom_hmac", "X-Signature"),
        ("standard_webhooks", "webhook-signature"),
    ],
)
def test_odd_signature_values_are_refused(scheme, header, value):
    secret = sw.generate_secret() if scheme == "standard_webhooks" else SECRET
    headers = {header: value}
    if scheme == "standard_webhooks":
        headers.update(
            {"webhook-id": value, "webhook-timestamp": str(int(time.time()))}
        )
    custom = ws.CustomHmac(header="X-Signature", encoding="base64", prefix="v1=")
    with pytest.raises(ws.SignatureError):
        ws.verify(scheme, [secret], headers, BODY, custom=custom)


@pytest.mark.parametrize("body", [b"\x00\xff\xfe", b'{"a": "\xc3"}', b""])
def test_bodies_that_are_not_text_are_verified(body):
    secret = sw.generate_secret()
    headers = sw.sign_headers([secret], "msg_\x00", body)
    assert ws.verify("standard_webhooks", [secret], headers, body) is None
    github = {"X-Hub-Signature-256": ws.sign_github(SECRET, body)}
    assert ws.verify("github", [SECRET], github, body) is None


# Nesting --------------------------------------------------------------------------


def test_json_depth_is_walked_without_recursion():
    deep = []
    for _level in range(sys.getrecursionlimit() * 3):
        deep = [deep]
    assert wi.json_depth_exceeds(deep, 64)
    assert not wi.json_depth_exceeds(_nested(64), 64)
    assert wi.json_depth_exceeds(_nested(65), 64)
    assert not wi.json_depth_exceeds("scalar", 0)


def _schema_call(body):
    settings = wv.Settings(schema=RECURSIVE_SCHEMA)
    return settings, wv.Call("application/json", "192.0.2.1", {}, body)


@pytest.mark.parametrize("depth", [65, 500])
def test_deep_body_is_refused_before_a_recursive_schema(depth):
    settings, call = _schema_call(json.dumps(_nested(depth)).encode())
    with pytest.raises(wv.Rejection) as refused:
        settings.check_message(call)
    assert (refused.value.reason, refused.value.status) == ("too_deep", 400)
    assert "64 levels" in refused.value.message


def test_body_deeper_than_the_parser_allows_is_not_json():
    settings, call = _schema_call(b'{"child": ' * 100000 + b"{}" + b"}" * 100000)
    with pytest.raises(wv.Rejection) as refused:
        settings.check_message(call)
    assert refused.value.reason == "not_json"


def test_body_at_the_limit_is_checked_against_the_schema():
    settings, call = _schema_call(json.dumps(_nested(64)).encode())
    assert settings.check_message(call).payload == _nested(64)


class RecursingValidator:
    """A schema validator that runs out of stack, as a recursive schema can
    on a deep enough body."""

    def errors(self, payload, limit):
        raise RecursionError("maximum recursion depth exceeded")


def test_recursion_in_the_schema_check_is_a_refusal():
    with pytest.raises(wv.Rejection) as refused:
        wv.check_schema(RecursingValidator(), _nested(60))
    assert (refused.value.reason, refused.value.status) == ("too_deep", 400)


def test_number_too_large_for_the_schema_is_a_refusal():
    # The pure-Python engine compares it as a float, which overflows;
    # jsonschema-rs compares exactly (tests/test_lib_json_schema.py).
    validator = wv.compile_schema(json.dumps({"multipleOf": 0.01}), "jsonschema")
    with pytest.raises(wv.Rejection) as refused:
        wv.check_schema(validator, json.loads("1" + "0" * 400))
    assert (refused.value.reason, refused.value.status) == ("schema", 422)


# Message ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message_id, problem",
    [("x" * 256, "at most 255"), ("a\x00b", "control"), ("a\nb", "control")],
)
def test_message_ids_a_unique_index_cannot_hold_are_refused(message_id, problem):
    settings = wv.Settings(scheme="github", secrets=(SECRET,), replay_protection=True)
    headers = {
        "X-Hub-Signature-256": ws.sign_github(SECRET, BODY),
        "X-GitHub-Delivery": message_id,
    }
    with pytest.raises(wv.Rejection) as refused:
        settings.check_message(wv.Call("application/json", "192.0.2.1", headers, BODY))
    assert (refused.value.reason, refused.value.status) == ("message_id", 400)
    assert problem in refused.value.message


def test_stripe_message_id_from_the_body_is_capped_too():
    body = json.dumps({"id": "evt_\u0000"}).encode()
    settings = wv.Settings(scheme="stripe", secrets=(SECRET,), replay_protection=True)
    headers = {"Stripe-Signature": ws.sign_stripe(SECRET, body)}
    with pytest.raises(wv.Rejection) as refused:
        settings.check_message(wv.Call("application/json", "192.0.2.1", headers, body))
    assert refused.value.reason == "message_id"


def test_message_id_at_the_limit_is_accepted():
    assert wi.message_id_problem("é" * 255) is None


# What is recorded --------------------------------------------------------------------


def test_nul_is_escaped_in_what_is_recorded():
    assert wv.body_excerpt(b'{"a": "\x00"}') == '{"a": "\\x00"}'
    assert "\x00" not in wv.body_excerpt(b"\x00" * 5000)
    recorded = wv.recorded_headers([("X-Note", "a\x00b"), ("X\x00Name", "v")])
    assert recorded == {"X-Note": "a\\x00b", "X\\x00Name": "v"}
    assert wi.printable("\udcff") == "?"
    assert wi.printable(None) is None


def test_aggregation_window_and_source():
    when = datetime(2026, 12, 2, 20, 19, 59, 999999)
    assert wi.aggregation_window(when) == datetime(2026, 12, 2, 20, 10)
    assert wi.aggregation_window(when, 60) == datetime(2026, 12, 2, 20, 19)
    assert wi.aggregation_source("2001:db8::1") == "2001:db8::/64"
    assert "/" not in wi.aggregation_source("::ffff:192.0.2.1")
    assert wi.aggregation_source("") == ""
