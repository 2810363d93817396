"""lib.outbox.sender against a real receiver on 127.0.0.1: status codes,
timeouts, redirects, pooling, concurrency and the SSRF guard."""

import socket
import time

import pytest

from odoo.addons.integration_gateway.lib.outbox import sender as wh
from odoo.addons.integration_gateway.tests.webhook_receiver import WebhookReceiver

BODY = b'{"_model": "res.partner", "_id": 7}'


@pytest.fixture(scope="module")
def receiver():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def sender():
    return wh.Sender(concurrency=8)


def _message(url, timeout=5, allow_private=True, **kw):
    return wh.Message(
        url=url,
        body=BODY,
        headers=kw.pop("headers", {}),
        timeout=timeout,
        allow_private=allow_private,
        **kw,
    )


def test_posts_the_body_with_json_content_type(receiver, sender):
    receiver.clear()
    result = sender.send(_message(receiver.url("/ok"), headers={"X-Token": "t1"}))
    assert (result.status_code, result.response_excerpt, result.error) == (
        200,
        "ok",
        None,
    )
    assert result.sent
    got = receiver.wait_for(1)[0]
    assert got.body == BODY
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-token"] == "t1"


def test_error_status_and_retry_after_are_reported(receiver, sender):
    result = sender.send(_message(receiver.url("/status/429?retry_after=30")))
    assert result.status_code == 429
    assert result.retry_after == "30"
    assert result.response_excerpt == "status 429"


def test_redirects_are_not_followed(receiver, sender):
    receiver.clear()
    target = receiver.url("/ok")
    result = sender.send(_message(receiver.url(f"/status/302?location={target}")))
    assert result.status_code == 302
    time.sleep(0.2)
    assert [r.path for r in receiver.requests] == [f"/status/302?location={target}"]


def test_timeout_is_an_error_after_the_endpoint_timeout(receiver, sender):
    start = time.monotonic()
    result = sender.send(_message(receiver.url("/hang"), timeout=0.5))
    assert 0.4 < time.monotonic() - start < 3
    assert result.status_code is None
    assert result.error == "timed out after 0.5 s"


def test_connection_refused_is_an_error(sender):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = sender.send(_message(f"http://127.0.0.1:{port}/", timeout=2))
    assert result.status_code is None
    assert "cannot connect to 127.0.0.1" in result.error


def test_long_response_is_truncated(receiver, sender):
    receiver.scripts["long"].append((500, {}, b"x" * 5000))
    result = sender.send(_message(receiver.url("/script/long")))
    assert result.status_code == 500
    assert result.response_excerpt == "x" * wh.EXCERPT_CHARS


def test_loopback_refused_unless_private_networks_are_allowed(receiver, sender):
    receiver.clear()
    for host in ("127.0.0.1", "localhost"):
        result = sender.send(
            _message(receiver.url("/ok", host=host), allow_private=False)
        )
        assert result.status_code is None
        assert "loopback address" in result.error
        assert "does not allow private networks" in result.error
    time.sleep(0.2)
    assert receiver.requests == []
    allowed = sender.send(_message(receiver.url("/ok", host="localhost")))
    assert allowed.status_code == 200


def test_guard_checks_the_address_resolved_at_connect_time(receiver):
    """A public-looking name that resolves to a private address when the
    request is made (DNS rebinding) is refused: the check runs on the
    address the socket would connect to, not on the name."""
    answers = {"hooks.example.com": "8.8.8.8"}

    def resolver(host, port, *args):
        address = answers.get(host, host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    assert wh.private_destination("https://hooks.example.com/", resolver) is None
    answers["hooks.example.com"] = "127.0.0.1"  # the name now points inside
    sender = wh.Sender(concurrency=2, resolver=resolver)
    url = f"http://hooks.example.com:{receiver.port}/ok"
    refused = sender.send(_message(url, allow_private=False))
    assert "127.0.0.1 is a loopback address" in refused.error
    # The same resolution with private networks allowed reaches the receiver,
    # so the refusal above came from the guard, not from a failed connection.
    receiver.clear()
    assert sender.send(_message(url)).status_code == 200
    assert (
        receiver.wait_for(1)[0].headers["host"] == f"hooks.example.com:{receiver.port}"
    )


def test_private_destination_reports_private_urls():
    assert "loopback" in wh.private_destination("http://localhost:8069/hook")
    assert "private network" in wh.private_destination("http://10.1.2.3/hook")
    assert wh.private_destination("http://93.184.216.34/hook") is None
    assert wh.private_destination("http://no-such-host.invalid/hook") is None


def test_send_many_keeps_order_and_runs_concurrently(receiver, sender):
    messages = [_message(receiver.url("/slow/0.3")) for _ in range(8)]
    start = time.monotonic()
    results = sender.send_many(messages)
    elapsed = time.monotonic() - start
    assert [r.status_code for r in results] == [200] * 8
    # eight 0.3 s requests in well under 8 * 0.3 s: they ran side by side
    assert elapsed < 1.2


def test_connections_are_kept_alive_and_reused(receiver, sender):
    receiver.clear()
    for _ in range(5):
        assert sender.send(_message(receiver.url("/ok"))).status_code == 200
    clients = {r.client for r in receiver.wait_for(5)}
    assert len(clients) == 1


def test_deadline_leaves_requests_unsent(receiver, sender):
    now = time.time()
    results = sender.send_many(
        [
            _message(receiver.url("/ok"), timeout=10),
            _message(receiver.url("/ok"), timeout=1),
        ],
        deadline=now + 5,
    )
    assert [r.sent for r in results] == [False, True]
    assert results[0].status_code is None


def test_not_before_paces_a_message(receiver, sender):
    start = time.time()
    result = sender.send(_message(receiver.url("/ok"), not_before=start + 0.3))
    assert result.started_at >= start + 0.3
    assert result.status_code == 200


def test_credentials_in_the_url_become_basic_auth(receiver, sender):
    receiver.clear()
    url = receiver.url("/ok").replace("http://", "http://user:p%40ss@")
    assert sender.send(_message(url)).status_code == 200
    assert receiver.wait_for(1)[0].headers["authorization"] == "Basic dXNlcjpwQHNz"


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://example.com/x", "not an http:// or https:// URL"),
        ("example.com/hook", "not an http:// or https:// URL"),
        ("https:///hook", "has no host name"),
        ("https://example.com:99999/", "not a valid URL"),
        ("", "not an http:// or https:// URL"),
    ],
)
def test_check_url_says_what_is_wrong(url, message):
    with pytest.raises(ValueError, match=message):
        wh.check_url(url)


def test_check_url_accepts_http_and_https():
    wh.check_url("https://example.com/hook?x=1")
    wh.check_url("http://10.0.0.1:8080/hook")


@pytest.mark.parametrize(
    "text, message",
    [
        ("{bad", "not valid JSON"),
        ('["X-A"]', "must be a JSON object"),
        ('{"X A": "1"}', "not a valid header name"),
        ('{"X-A": 1}', "must be text"),
        ('{"X-A": "1\\r\\nX-B: 2"}', "line break"),
        ('{"Webhook-Signature": "v1,x"}', "set by the sender itself"),
        ('{"content-type": "text/plain"}', "set by the sender itself"),
    ],
)
def test_parse_headers_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        wh.parse_headers(text)


def test_parse_headers_accepts_an_object_of_text():
    assert wh.parse_headers('{"X-Token": "abc"}') == {"X-Token": "abc"}
    assert wh.parse_headers("") == {}
    assert wh.parse_headers(None) == {}
