"""lib.webhook_validation: each check, their order, and what is recorded of a
refused call."""

import json

import pytest

from odoo.addons.integration_gateway.lib import networks
from odoo.addons.integration_gateway.lib import webhook_signatures as ws
from odoo.addons.integration_gateway.lib import webhook_validation as wv

SECRET = "shared-secret"
BODY = json.dumps({"id": "evt_1", "amount": 10}).encode()
SCHEMA = json.dumps(
    {
        "type": "object",
        "required": ["id", "amount"],
        "properties": {
            "id": {"type": "string"},
            "amount": {"type": "integer", "minimum": 0},
            "lines": {
                "type": "array",
                "items": {"type": "object", "required": ["sku"]},
            },
            "a/b~c": {"type": "string"},
            "email": {"type": "string", "format": "email"},
        },
    }
)


def _settings(**values):
    defaults = {
        "scheme": "github",
        "secrets": (SECRET,),
        "content_types": ("application/json",),
    }
    return wv.Settings(**{**defaults, **values})


def _call(body=BODY, mimetype="application/json", address="203.0.113.5", **headers):
    headers.setdefault("X-Hub-Signature-256", ws.sign_github(SECRET, body))
    headers.setdefault("X-GitHub-Delivery", "delivery-1")
    return wv.Call(mimetype=mimetype, address=address, headers=headers, body=body)


def _refused(reason, check, *args, **kwargs):
    with pytest.raises(wv.Rejection) as info:
        check(*args, **kwargs)
    assert info.value.reason == reason
    assert info.value.status == wv.STATUS[reason]
    return info.value


# Size and content type, before the body is read --------------------------------


def test_size_is_checked_on_the_announced_length():
    settings = _settings(max_body_bytes=100)
    settings.check_transport(100, "application/json")
    settings.check_transport(None, "application/json")
    rejection = _refused("too_large", settings.check_transport, 101, "application/json")
    assert rejection.status == 413
    assert "101 bytes" in rejection.message and "at most 100" in rejection.message


def test_a_chunked_body_without_length_is_refused():
    rejection = _refused(
        "length_required",
        _settings().check_transport,
        None,
        "application/json",
        chunked=True,
    )
    assert rejection.status == 411
    assert "Content-Length" in rejection.message


def test_size_comes_before_content_type():
    _refused("too_large", _settings(max_body_bytes=1).check_transport, 2, "text/plain")


def test_content_types_with_wildcards():
    patterns = wv.parse_content_types("application/json, application/*+json\ntext/*")
    assert patterns == ("application/json", "application/*+json", "text/*")
    assert wv.content_type_allowed("application/json", patterns)
    assert wv.content_type_allowed("Application/JSON", patterns)
    assert wv.content_type_allowed("application/cloudevents+json", patterns)
    assert wv.content_type_allowed("text/plain", patterns)
    assert not wv.content_type_allowed("application/x-www-form-urlencoded", patterns)
    assert not wv.content_type_allowed("application/jsonx", patterns)
    assert not wv.content_type_allowed("", patterns)
    assert wv.content_type_allowed("", ())
    rejection = _refused(
        "content_type", wv.check_content_type, "text/xml", ("application/json",)
    )
    assert rejection.status == 415
    assert "text/xml" in rejection.message and "application/json" in rejection.message


def test_only_star_is_a_wildcard():
    assert not wv.content_type_allowed("application/json", ("application/[j]son",))
    assert not wv.content_type_allowed("application/xson", ("application/?son",))


@pytest.mark.parametrize(
    "bad", ["json", "application/", "/json", "a/b/c", "text/html;q=1"]
)
def test_bad_content_types_are_named(bad):
    with pytest.raises(ValueError, match="is not a media type"):
        wv.parse_content_types(f"application/json, {bad}")


# Network, rate limit, signature, JSON, schema, message id -------------------------


def test_a_valid_call_is_accepted_with_its_payload_and_message_id():
    accepted = _settings(replay_protection=True).check_message(_call())
    assert accepted == wv.Accepted(
        payload={"id": "evt_1", "amount": 10}, parsed=True, message_id="delivery-1"
    )


def test_network():
    settings = _settings(networks=networks.parse_networks("10.0.0.0/8, 2001:db8::/32"))
    settings.check_message(_call(address="10.1.2.3"))
    settings.check_message(_call(address="2001:db8::5"))
    rejection = _refused("network", settings.check_message, _call(address="192.0.2.1"))
    assert rejection.status == 403 and "192.0.2.1" in rejection.message


def test_rate_limit_runs_after_the_network_and_before_the_signature():
    calls = []

    def over_limit():
        calls.append(True)
        raise wv.Rejection("rate_limit", "slow down", headers={"Retry-After": "7"})

    settings = _settings(networks=networks.parse_networks("10.0.0.0/8"))
    _refused("network", settings.check_message, _call(), rate_limit=over_limit)
    assert not calls, "a refused network must not spend the rate limit"
    forged = _call(address="10.0.0.1", **{"X-Hub-Signature-256": "sha256=00"})
    rejection = _refused(
        "rate_limit", settings.check_message, forged, rate_limit=over_limit
    )
    assert rejection.headers == {"Retry-After": "7"}
    assert calls == [True]


def test_signature():
    settings = _settings()
    tampered = _call()
    tampered = wv.Call(
        tampered.mimetype, tampered.address, tampered.headers, BODY + b" "
    )
    rejection = _refused("signature", settings.check_message, tampered)
    assert rejection.status == 401
    assert rejection.message == "signature refused: no signature matches"
    rejection = _refused("signature", _settings(secrets=()).check_message, _call())
    assert "no secret" in rejection.message


def test_signature_comes_before_json():
    forged = _call(body=b"not json", **{"X-Hub-Signature-256": "sha256=00"})
    _refused("signature", _settings().check_message, forged)


def test_json_is_parsed_for_json_types_only_unless_a_schema_is_set():
    settings = _settings(content_types=())
    _refused("not_json", settings.check_message, _call(body=b"{oops"))
    _refused(
        "not_json",
        settings.check_message,
        _call(body=b"{oops", mimetype="application/vnd.api+json"),
    )
    form = settings.check_message(_call(body=b"a=1", mimetype="text/plain"))
    assert form == wv.Accepted(payload=None, parsed=False)
    with_schema = _settings(content_types=(), schema=SCHEMA)
    _refused(
        "not_json", with_schema.check_message, _call(body=b"a=1", mimetype="text/plain")
    )
    accepted = with_schema.check_message(_call(mimetype="text/plain"))
    assert accepted.parsed and accepted.payload["id"] == "evt_1"


def test_deeply_nested_json_is_refused_not_raised():
    body = b"[" * 100000 + b"]" * 100000
    _refused("not_json", _settings().check_message, _call(body=body))


def test_schema_errors_are_json_pointers():
    body = json.dumps(
        {
            "amount": -1,
            "lines": [{"sku": "A"}, {}],
            "a/b~c": 3,
            "email": "not an email",
        }
    ).encode()
    rejection = _refused(
        "schema", _settings(schema=SCHEMA).check_message, _call(body=body)
    )
    assert rejection.status == 422
    # Each engine quotes values its way ("x" or 'x'): compared with one.
    by_path = {
        error["path"]: error["message"].replace('"', "'") for error in rejection.errors
    }
    assert by_path == {
        "": "'id' is a required property",
        "/amount": "-1 is less than the minimum of 0",
        "/lines/1": "'sku' is a required property",
        "/a~1b~0c": "3 is not of type 'string'",
        "/email": "'not an email' is not a 'email'",
    }
    assert rejection.body()["errors"] == rejection.errors
    assert rejection.body()["error"] == "schema"


def test_schema_errors_are_limited_and_long_messages_cut():
    schema = json.dumps({"type": "array", "items": {"type": "integer"}})
    validator = wv.compile_schema(schema)
    errors = wv.schema_errors(validator, ["x" * 1000] * 50)
    assert len(errors) == wv.MAX_SCHEMA_ERRORS
    assert errors[0]["path"] == "/0"
    assert len(errors[0]["message"]) == wv.MAX_ERROR_MESSAGE


def test_replay_protection_needs_a_message_id():
    settings = _settings(replay_protection=True)
    call = _call()
    del call.headers["X-GitHub-Delivery"]
    rejection = _refused("no_message_id", settings.check_message, call)
    assert rejection.status == 400 and "X-GitHub-Delivery" in rejection.message
    assert _settings().check_message(call).message_id is None


def test_stripe_message_id_comes_from_the_body():
    settings = _settings(scheme="stripe", replay_protection=True)
    call = wv.Call(
        "application/json",
        "203.0.113.5",
        {"Stripe-Signature": ws.sign_stripe(SECRET, BODY)},
        BODY,
    )
    assert settings.check_message(call).message_id == "evt_1"


def test_secrets_are_not_in_the_settings_repr():
    assert SECRET not in repr(_settings())


# Schemas, when saved --------------------------------------------------------------


def test_compile_schema_refuses_bad_schemas_with_a_reason():
    with pytest.raises(ValueError, match="not valid JSON"):
        wv.compile_schema("{type: object}")
    with pytest.raises(
        ValueError, match=r"not a valid JSON Schema .* at /properties/a"
    ):
        wv.compile_schema('{"properties": {"a": {"type": "whole number"}}}')
    with pytest.raises(ValueError, match="only references inside the schema"):
        wv.compile_schema('{"$ref": "https://example.com/schema.json"}')
    local = wv.compile_schema(
        '{"$defs": {"n": {"type": "integer"}}, "items": {"$ref": "#/$defs/n"}}'
    )
    [error] = wv.schema_errors(local, [1, "2"])
    assert error["path"] == "/1"
    assert error["message"].replace('"', "'") == "'2' is not of type 'integer'"


def test_json_pointer_escapes():
    assert wv.json_pointer([]) == ""
    assert wv.json_pointer(["a", 0, "b/c", "d~e"]) == "/a/0/b~1c/d~0e"


# What is recorded -------------------------------------------------------------------


def test_recorded_headers_leave_out_credentials_signatures_and_secrets():
    headers = [
        ("Content-Type", "application/json"),
        ("Authorization", "Bearer abc"),
        ("Cookie", "session_id=1"),
        ("X-Hub-Signature-256", "sha256=00"),
        ("X-My-Sig", "abc"),
        ("X-Api-Token", "t"),
        ("X-Echo", f"echo {SECRET}"),
        ("User-Agent", "u" * 1000),
    ]
    recorded = wv.recorded_headers(headers, [SECRET], ["x-my-sig"])
    assert recorded["Content-Type"] == "application/json"
    for name in (
        "Authorization",
        "Cookie",
        "X-Hub-Signature-256",
        "X-My-Sig",
        "X-Api-Token",
        "X-Echo",
    ):
        assert recorded[name] == wv.REMOVED, name
    assert len(recorded["User-Agent"]) == wv.MAX_HEADER_VALUE
    assert SECRET not in json.dumps(recorded)
    many = [(f"X-{i}", "v") for i in range(100)]
    assert len(wv.recorded_headers(many)) == wv.MAX_RECORDED_HEADERS


def test_body_excerpt():
    assert wv.body_excerpt(b"") == ""
    assert wv.body_excerpt(b"\xff{}") == "\ufffd{}"
    long = wv.body_excerpt(b"x" * 5000)
    assert long == "x" * wv.EXCERPT_BYTES + "…"
    assert wv.body_excerpt(b'{"token": "%s"}' % SECRET.encode(), [SECRET]) == wv.REMOVED


def test_signed_form_payload_reads_the_form_body_only():
    body = b"ref=ACME-1&payload=%7B%22a%22%3A+1%7D&empty="
    assert wv.signed_form_payload("application/x-www-form-urlencoded", body) == {
        "ref": "ACME-1",
        "payload": '{"a": 1}',
        "empty": "",
    }
    assert wv.signed_form_payload("text/plain", b"ref=ACME-1") == {}
