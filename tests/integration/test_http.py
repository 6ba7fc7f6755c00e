"""eventmesh-server over HTTP, as a user with curl and the standard library
sees it: every publish mode, request/reply, webhooks against receivers that
fail on purpose, Server-Sent Events with resumption, metrics, the admin
API, limits, keep-alive and pipelining.

Each test starts its own server process on ephemeral ports.
"""
import http.client
import http.server
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

SERVER = os.environ.get("EVENTMESH_SERVER", "eventmesh-server")


class Server:
    def __init__(self, http_extra="", data="mem:"):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = data if data == "mem:" else os.path.join(self.tmp.name,
                                                             data)
        self.http_extra = http_extra
        self.start()

    def start(self):
        config = os.path.join(self.tmp.name, "eventmesh.toml")
        with open(config, "w") as f:
            f.write('listen = "127.0.0.1:0"\n'
                    '[http]\nlisten = "127.0.0.1:0"\n' + self.http_extra)
        self.log = open(os.path.join(self.tmp.name, "server.log"), "w+")
        self.proc = subprocess.Popen(
            [SERVER, "--config", config, "--data", self.data,
             "--log-level", "warn"], stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            self.log.seek(0)
            m = re.search(r"listening http (\S+)", self.log.read())
            if m:
                self.host, port = m.group(1).rsplit(":", 1)
                self.port = int(port)
                self.base = f"http://{self.host}:{self.port}"
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.log.seek(0)
        self.proc.kill()
        raise RuntimeError("server did not start: " + self.log.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                assert self.proc.wait(timeout=20) == 0
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise

    def close(self):
        self.stop()
        self.log.close()
        self.tmp.cleanup()

    def request(self, method, path, body=None, headers=None, timeout=10):
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, method, path, body=None, headers=None):
        status, _, raw = self.request(method, path, body, headers)
        return status, json.loads(raw) if raw else None

    def publish(self, topic, data="x", event_id=None, **attrs):
        headers = {"ce-specversion": "1.0", "ce-source": "/test",
                   "ce-type": attrs.pop("type", "test.event"),
                   "Content-Type": "text/plain"}
        if event_id:
            headers["ce-id"] = event_id
        for k, v in attrs.items():
            headers["ce-" + k] = v
        status, body = self.json("POST", f"/topics/{topic}/events", data,
                                 headers)
        assert status == 200, body
        return body

    def metric(self, name):
        _, _, raw = self.request("GET", "/metrics")
        m = re.search(r"^" + re.escape(name) + r" (\S+)$", raw.decode(),
                      re.M)
        return float(m.group(1)) if m else 0.0


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def wait_for(predicate, timeout=10, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


# --- A webhook receiver that answers as told -------------------------------

class Receiver:
    """Records POSTs; answers each with the next planned (status, headers)
    and 200 once the plan is used up."""

    def __init__(self, plan=(), allow_origin=None):
        self.plan = list(plan)
        self.allow_origin = allow_origin
        self.received = []
        self.options = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_OPTIONS(self):
                receiver.options.append(dict(self.headers))
                self.send_response(200)
                if receiver.allow_origin is not None:
                    self.send_header("WebHook-Allowed-Origin",
                                     receiver.allow_origin)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.received.append(
                        (time.time(), {k.lower(): v
                                       for k, v in self.headers.items()},
                         body))
                    status, headers = (receiver.plan.pop(0)
                                       if receiver.plan else (200, {}))
                payload = b"nope" if status >= 300 else b""
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def ids(self):
        with self.lock:
            return [h.get("ce-id") for _, h, _ in self.received]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receivers():
    made = []

    def make(*args, **kwargs):
        r = Receiver(*args, **kwargs)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


# --- Publish ----------------------------------------------------------------

def test_binary_mode_with_curl_percent_encoded_attributes(server):
    out = subprocess.run(
        ["curl", "-sS", "-X", "POST", server.base + "/topics/orders.a/events",
         "-H", "ce-specversion: 1.0", "-H", "ce-id: order-1",
         "-H", "ce-source: /shop", "-H", "ce-type: order.created",
         "-H", "ce-subject: Caf%C3%A9%20order",
         "-H", "ce-traceparent: 00-abc",
         "-H", "Content-Type: application/json",
         "--data-binary", '{"n":1}'],
        capture_output=True, text=True, timeout=20, check=True)
    assert json.loads(out.stdout) == {"topic": "orders.a", "sequence": 1,
                                      "id": "order-1"}
    status, events = server.json("GET", "/topics/orders.a/events")
    assert status == 200
    assert len(events) == 1
    e = events[0]
    assert e["subject"] == "Caf\u00e9 order"
    assert e["traceparent"] == "00-abc"
    assert e["datacontenttype"] == "application/json"
    assert e["data"] == {"n": 1}
    assert e["sequence"] in (1, "1")


def test_structured_mode_and_durability(server):
    event = {"specversion": "1.0", "id": "s1", "source": "/shop",
             "type": "t", "datacontenttype": "text/plain", "data": "hi"}
    for i, durability in enumerate(["sync", "batch", "none"]):
        event["id"] = f"s{i}"
        status, body = server.json(
            "POST", f"/topics/orders.s/events?durability={durability}",
            json.dumps(event),
            {"Content-Type": "application/cloudevents+json; charset=utf-8"})
        assert status == 200, body
        assert body["sequence"] == i + 1
    status, body = server.json(
        "POST", "/topics/orders.s/events?durability=sometimes",
        json.dumps(event), {"Content-Type": "application/cloudevents+json"})
    assert status == 400
    assert "durability" in body["error"]["message"]


def test_batch_mode_returns_every_sequence(server):
    batch = [{"specversion": "1.0", "id": f"b{i}", "source": "/s",
              "type": "t"} for i in range(5)]
    status, body = server.json(
        "POST", "/topics/orders.b/events", json.dumps(batch),
        {"Content-Type": "application/cloudevents-batch+json"})
    assert status == 200, body
    assert body["sequences"] == [1, 2, 3, 4, 5]
    assert body["ids"] == [f"b{i}" for i in range(5)]
    # One bad event refuses the whole batch.
    batch.append({"specversion": "1.0", "id": "bad", "type": "t"})
    status, body = server.json(
        "POST", "/topics/orders.b/events", json.dumps(batch),
        {"Content-Type": "application/cloudevents-batch+json"})
    assert status == 400
    status, events = server.json("GET", "/topics/orders.b/events")
    assert len(events) == 5


def test_not_a_cloudevent_is_refused_with_a_reason(server):
    status, body = server.json("POST", "/topics/x/events", "plain",
                               {"Content-Type": "text/plain"})
    assert status == 400
    assert "ce-specversion" in body["error"]["message"]
    status, body = server.json(
        "POST", "/topics/bad..topic/events", "x",
        {"ce-specversion": "1.0", "ce-source": "/s", "ce-type": "t"})
    assert status == 400


def test_request_reply_over_http_only(server):
    # A responder made of HTTP too: it streams the requests and publishes
    # each reply to the request's replyto topic with its correlation id.
    stream = open_stream(server, "/topics/svc.echo/events")
    result = {}

    def call():
        result["response"] = server.request(
            "POST", "/topics/svc.echo/requests?timeout=5s", "ping",
            {"ce-specversion": "1.0", "ce-id": "q1", "ce-source": "/c",
             "ce-type": "echo.request", "Content-Type": "text/plain"})
    caller = threading.Thread(target=call)
    caller.start()
    _, request = stream.next_event()
    reply_status, _, _ = server.request(
        "POST", "/topics/" + request["replyto"] + "/events", "pong:ping",
        {"ce-specversion": "1.0", "ce-id": "r1", "ce-source": "/echo",
         "ce-type": "echo.reply", "ce-correlationid":
         request["correlationid"], "Content-Type": "text/plain"})
    assert reply_status == 200
    caller.join(10)
    stream.close()
    status, headers, body = result["response"]
    assert status == 200
    assert headers["ce-type"] == "echo.reply"
    assert headers["ce-correlationid"] == "q1"
    assert body == b"pong:ping"
    status, _, _ = server.request(
        "POST", "/topics/svc.nobody/requests?timeout=200ms", "x",
        {"ce-specversion": "1.0", "ce-id": "q2", "ce-source": "/c",
         "ce-type": "t"})
    assert status == 504


# --- Server-Sent Events -----------------------------------------------------

class Stream:
    def __init__(self, server, path, headers):
        self.conn = http.client.HTTPConnection(server.host, server.port,
                                               timeout=10)
        self.conn.request("GET", path, headers=dict(
            {"Accept": "text/event-stream"}, **headers))
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type") == "text/event-stream"

    def next_event(self):
        event_id, data = None, []
        while True:
            line = self.response.fp.readline().decode()
            assert line, "stream ended"
            line = line.rstrip("\n")
            if line == "":
                if data:
                    return event_id, json.loads("\n".join(data))
                continue
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data.append(line[6:])

    def close(self):
        self.conn.close()


def open_stream(server, path, **headers):
    return Stream(server, path, headers)


def test_sse_delivers_and_resumes_after_last_event_id(server):
    for i in range(1, 4):
        server.publish("feed.a", f"d{i}", f"e{i}")
    s = open_stream(server, "/topics/feed.a/events?from=earliest")
    got = [s.next_event() for _ in range(3)]
    assert [i for i, _ in got] == ["1", "2", "3"]
    assert got[0][1]["id"] == "e1" and got[0][1]["data"] == "d1"
    server.publish("feed.a", "live", "e4")
    assert s.next_event()[0] == "4"
    s.close()
    server.publish("feed.a", "missed", "e5")
    again = open_stream(server, "/topics/feed.a/events",
                        **{"Last-Event-ID": "3"})
    assert again.next_event()[0] == "4"
    event_id, event = again.next_event()
    assert event_id == "5" and event["data"] == "missed"
    again.close()


def test_sse_on_a_pattern_resumes_with_its_cursor(server):
    s = open_stream(server, "/topics/multi.%3E/events")
    server.publish("multi.a", "1", "m1")
    server.publish("multi.b", "2", "m2")
    first_id, first = s.next_event()
    second_id, second = s.next_event()
    assert {first["id"], second["id"]} == {"m1", "m2"}
    s.close()
    server.publish("multi.a", "3", "m3")
    again = open_stream(server, "/topics/multi.%3E/events",
                        **{"Last-Event-ID": second_id})
    _, event = again.next_event()
    assert event["id"] == "m3"
    again.close()


# --- Webhooks ---------------------------------------------------------------

WEBHOOK_FAST = ("webhook_retry_initial_ms = 100\n"
                "webhook_retry_max_ms = 400\nwebhook_max_attempts = 4\n")


@pytest.fixture
def fast_server():
    s = Server(http_extra=WEBHOOK_FAST)
    yield s
    s.close()


def create_webhook(server, **spec):
    status, body = server.json("POST", "/webhooks", json.dumps(spec),
                               {"Content-Type": "application/json"})
    return status, body


def test_webhook_delivers_in_binary_mode(fast_server, receivers):
    r = receivers()
    status, body = create_webhook(fast_server, name="h1", pattern="wh.>",
                                  url=r.url)
    assert status == 201, body
    fast_server.publish("wh.one", "payload", "w1", subject="s%20p")
    wait_for(lambda: r.received, what="a delivery")
    _, headers, data = r.received[0]
    assert headers["ce-id"] == "w1"
    assert headers["ce-type"] == "test.event"
    assert headers["ce-subject"] == "s%20p"
    assert headers["ce-topic"] == "wh.one"
    assert headers["ce-sequence"] == "1"
    assert headers["content-type"] == "text/plain"
    assert data == b"payload"
    status, listed = fast_server.json("GET", "/webhooks")
    assert [w["name"] for w in listed["webhooks"]] == ["h1"]
    wait_for(lambda: fast_server.json("GET", "/webhooks/h1")[1]["acked"] == 1,
             what="the ack")
    assert fast_server.metric("eventmesh_webhook_acked_total") == 1
    status, _ = fast_server.json("DELETE", "/webhooks/h1")
    assert status == 204
    assert fast_server.json("GET", "/webhooks/h1")[0] == 404


def test_webhook_retries_5xx_with_backoff_then_acks(fast_server, receivers):
    r = receivers(plan=[(503, {}), (500, {})])
    assert create_webhook(fast_server, name="retry", pattern="rt.>",
                          url=r.url)[0] == 201
    fast_server.publish("rt.x", "p", "r1")
    wait_for(lambda: len(r.received) >= 3, what="three attempts")
    times = [t for t, _, _ in r.received]
    assert r.ids() == ["r1", "r1", "r1"]
    # Backoff: about 100 ms, then about 200 ms.
    assert times[1] - times[0] >= 0.08
    assert times[2] - times[1] >= 0.16
    wait_for(lambda: fast_server.json("GET", "/webhooks/retry")[1]["acked"]
             == 1, what="the ack")
    assert fast_server.metric("eventmesh_webhook_retries_total") == 2
    time.sleep(0.5)
    assert len(r.received) == 3  # acked: not delivered again


def test_webhook_honours_retry_after(fast_server, receivers):
    r = receivers(plan=[(429, {"Retry-After": "1"})])
    assert create_webhook(fast_server, name="ra", pattern="ra.>",
                          url=r.url)[0] == 201
    fast_server.publish("ra.x", "p", "ra1")
    wait_for(lambda: len(r.received) >= 2, what="the retry")
    gap = r.received[1][0] - r.received[0][0]
    assert gap >= 0.9, gap


def test_webhook_4xx_dead_letters_with_the_reason(fast_server, receivers):
    r = receivers(plan=[(400, {})])
    assert create_webhook(fast_server, name="dl", group="billing",
                          pattern="dl.>", url=r.url)[0] == 201
    fast_server.publish("dl.order", "bad", "d1")
    dlq = "/topics/$DLQ.billing.dl.order/events"
    events = wait_for(lambda: fast_server.json("GET", dlq)[1],
                      what="the dead letter")
    dead = events[0]
    assert dead["deadreason"].startswith("HTTP 400")
    assert dead["deadtopic"] == "dl.order"
    assert dead["deadsequence"] == "1"
    assert dead["deadid"] == "d1"
    assert dead["data"] == "bad"
    assert len(r.received) == 1  # not retried
    assert fast_server.metric("eventmesh_webhook_dead_lettered_total") == 1


def test_webhook_gives_up_after_max_attempts(fast_server, receivers):
    r = receivers(plan=[(503, {})] * 10)
    assert create_webhook(fast_server, name="gu", pattern="gu.>",
                          url=r.url)[0] == 201
    fast_server.publish("gu.x", "p", "g1")
    events = wait_for(
        lambda: fast_server.json("GET", "/topics/$DLQ.gu.gu.x/events")[1],
        what="the dead letter")
    assert "after 4 attempts" in events[0]["deadreason"]
    assert len(r.received) == 4


def test_webhooks_of_a_group_share_events(fast_server, receivers):
    a, b = receivers(), receivers()
    for name, r in (("ga", a), ("gb", b)):
        assert create_webhook(fast_server, name=name, group="shared",
                              pattern="share.>", url=r.url)[0] == 201
    for i in range(40):
        fast_server.publish("share.x", str(i), f"s{i}")
    wait_for(lambda: len(a.received) + len(b.received) >= 40,
             what="every event")
    time.sleep(0.3)
    ids = a.ids() + b.ids()
    assert sorted(ids) == sorted(f"s{i}" for i in range(40))  # each once


def test_webhook_validation_handshake(fast_server, receivers):
    ok = receivers(allow_origin="eventmesh")
    status, body = create_webhook(fast_server, name="hs", pattern="hs.>",
                                  url=ok.url, handshake=True)
    assert status == 201, body
    assert ok.options[0]["WebHook-Request-Origin"] == "eventmesh"
    refusing = receivers(allow_origin=None)
    status, body = create_webhook(fast_server, name="hs2", pattern="hs.>",
                                  url=refusing.url, handshake=True)
    assert status == 400
    assert "WebHook-Allowed-Origin" in body["error"]["message"]


def test_webhook_targets_outside_allowed_networks_are_refused(receivers):
    s = Server(http_extra='webhook_allowed_networks = ["10.0.0.0/8"]\n')
    try:
        r = receivers()
        status, body = create_webhook(s, name="far", pattern="a.>",
                                      url=r.url)
        assert status == 403, body
        assert "allowed networks" in body["error"]["message"]
        status, body = create_webhook(s, name="tls", pattern="a.>",
                                      url="https://127.0.0.1/")
        assert status == 400
    finally:
        s.close()


def test_webhooks_survive_a_restart(receivers):
    r = receivers()
    s = Server(http_extra=WEBHOOK_FAST, data="data")
    try:
        assert create_webhook(s, name="keep", pattern="keep.>",
                              url=r.url)[0] == 201
        s.publish("keep.x", "before", "k1")
        wait_for(lambda: r.ids() == ["k1"], what="the first delivery")
        s.stop()
        s.start()
        status, body = s.json("GET", "/webhooks/keep")
        assert status == 200, body
        s.publish("keep.x", "after", "k2")
        wait_for(lambda: "k2" in r.ids(), what="delivery after restart")
    finally:
        s.close()


# --- Operations -------------------------------------------------------------

def test_health_and_readiness(server):
    assert server.json("GET", "/healthz") == (200, {"status": "ok"})
    assert server.json("GET", "/readyz") == (200, {"status": "ready"})


def test_metrics_move_when_events_flow(server):
    before = server.metric("eventmesh_http_published_events_total")
    for i in range(3):
        server.publish("metrics.t", "12345", f"m{i}")
    _, headers, raw = server.request("GET", "/metrics")
    text = raw.decode()
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert server.metric("eventmesh_http_published_events_total") == \
        before + 3
    assert server.metric("eventmesh_http_published_bytes_total") == 15
    assert server.metric("eventmesh_events_published_total") >= 3
    assert re.search(r'^eventmesh_topic_events\{topic="metrics.t"\} 3$',
                     text, re.M)
    assert re.search(
        r'^eventmesh_http_publish_latency_seconds_bucket\{le="\+Inf"\} 3$',
        text, re.M)
    assert re.search(r'^eventmesh_connections\{protocol="http"\} \d+$',
                     text, re.M)


def test_admin_fails_closed_without_a_token(server):
    status, body = server.json("GET", "/admin/topics")
    assert status == 403
    assert "admin_token" in body["error"]["message"]


def test_admin_with_a_token(receivers):
    s = Server(http_extra='admin_token = "s3cret"\n' + WEBHOOK_FAST)
    try:
        auth = {"Authorization": "Bearer s3cret"}
        s.publish("adm.t", "x", "a1")
        assert s.json("GET", "/admin/topics")[0] == 401
        assert s.json("GET", "/admin/topics",
                      headers={"Authorization": "Bearer nope"})[0] == 401
        status, body = s.json("GET", "/admin/topics", headers=auth)
        assert status == 200
        topic = [t for t in body["topics"] if t["topic"] == "adm.t"][0]
        assert topic["first_sequence"] == 1 and topic["count"] == 1
        assert topic["bytes"] > 0
        status, body = s.json("GET", "/admin/connections", headers=auth)
        assert status == 200 and body["connections"]
        # A dead letter, then its replay through the admin API.
        r = receivers(plan=[(404, {})])
        assert create_webhook(s, name="adm", group="admg", pattern="adm.>",
                              url=r.url)[0] == 201
        s.publish("adm.t", "y", "a2")
        wait_for(lambda: s.json("GET", "/topics/$DLQ.admg.adm.t/events")[1],
                 what="the dead letter")
        status, body = s.json("GET", "/admin/groups", headers=auth)
        group = [g for g in body["groups"] if g["name"] == "admg"][0]
        assert group["durable"] is True
        status, body = s.json(
            "POST", "/admin/groups/admg/dead-letters/replay", "",
            headers=auth)
        assert (status, body["republished"]) == (200, 1)
        wait_for(lambda: len(r.received) >= 2, what="the replayed event")
    finally:
        s.close()


def test_admin_deletes_a_topic_and_numbering_goes_on():
    s = Server(http_extra='admin_token = "s3cret"\n')
    try:
        auth = {"Authorization": "Bearer s3cret"}
        for i in range(3):
            s.publish("del.t", "x", f"d{i}")
        s.publish("del.kept", "x", "k0")
        assert s.json("DELETE", "/admin/topics/del.t")[0] == 401
        status, body = s.json("DELETE", "/admin/topics/del.t", headers=auth)
        assert (status, body) == (200, {"topic": "del.t", "deleted": True,
                                        "next_sequence": 4})
        assert s.json("GET", "/topics/del.t/events") == (200, [])
        _, topics = s.json("GET", "/admin/topics", headers=auth)
        counts = {t["topic"]: t["count"] for t in topics["topics"]}
        assert counts == {"del.t": 0, "del.kept": 1}
        # The same id again is a new event, numbered after the deleted ones.
        assert s.publish("del.t", "again", "d0")["sequence"] == 4

        status, body = s.json("DELETE", "/admin/topics/never.was",
                              headers=auth)
        assert status == 404 and "never.was" in body["error"]["message"]
        status, body = s.json("DELETE", "/admin/topics/bad..name",
                              headers=auth)
        assert status == 400, body
        assert s.json("GET", "/admin/topics/del.t", headers=auth)[0] == 405
    finally:
        s.close()


def test_admin_clears_a_dead_letter_queue_with_curl(receivers):
    s = Server(http_extra='admin_token = "s3cret"\n' + WEBHOOK_FAST)
    try:
        r = receivers(plan=[(404, {})])
        assert create_webhook(s, name="dq", group="dqg", pattern="dq.>",
                              url=r.url)[0] == 201
        s.publish("dq.t", "y", "q1")
        wait_for(lambda: s.json("GET", "/topics/$DLQ.dqg.dq.t/events")[1],
                 what="the dead letter")
        out = subprocess.run(
            ["curl", "-sS", "-X", "DELETE", "-H",
             "Authorization: Bearer s3cret",
             s.base + "/admin/topics/$DLQ.dqg.dq.t"],
            capture_output=True, text=True, timeout=20, check=True)
        assert json.loads(out.stdout)["deleted"] is True
        status, body = s.json(
            "POST", "/admin/groups/dqg/dead-letters/replay", "",
            headers={"Authorization": "Bearer s3cret"})
        assert (status, body["republished"]) == (200, 0)
    finally:
        s.close()


def test_admin_moves_a_group_position(receivers):
    s = Server(http_extra='admin_token = "s3cret"\n' + WEBHOOK_FAST,
               data="data")
    try:
        auth = {"Authorization": "Bearer s3cret",
                "Content-Type": "application/json"}
        r = receivers()
        assert create_webhook(s, name="mv", group="mvg", pattern="mv.t",
                              url=r.url)[0] == 201
        for i in range(3):
            s.publish("mv.t", str(i), f"m{i}")
        wait_for(lambda: len(r.ids()) == 3, what="the first deliveries")

        def seek(position, group="mvg"):
            return s.json("POST", f"/admin/groups/{group}/position",
                          json.dumps({"position": position}), auth)

        status, body = seek("earliest")
        assert status == 200, body
        assert body["group"] == "mvg" and body["position"] == "earliest"
        wait_for(lambda: len(r.ids()) == 6, what="the redeliveries")
        # A webhook posts in parallel: order within a batch may vary.
        assert sorted(r.ids()[3:]) == ["m0", "m1", "m2"]

        status, body = seek(3)  # a sequence of the group's one topic
        assert status == 200, body
        wait_for(lambda: len(r.ids()) == 7, what="sequence 3 again")
        assert r.ids()[-1] == "m2"

        assert seek("latest")[0] == 200
        s.publish("mv.t", "3", "m3")
        wait_for(lambda: len(r.ids()) == 8, what="the next event")
        assert r.ids()[-1] == "m3"

        # The position is stored: after a restart the group stays put.
        assert seek("2000-01-01T00:00:00Z")[0] == 200
        wait_for(lambda: len(r.ids()) == 12, what="replay by time")

        def settled():
            _, body = s.json("GET", "/admin/groups", headers=auth)
            g = [g for g in body["groups"] if g["name"] == "mvg"][0]
            return g["lag"] == 0 and g["in_flight"] == 0
        wait_for(settled, what="the acks")
        s.stop()
        s.start()
        s.publish("mv.t", "4", "m4")
        wait_for(lambda: "m4" in r.ids(), what="delivery after restart")
        time.sleep(0.3)
        assert r.ids().count("m0") == 3

        assert seek(99)[0] == 400
        assert seek(0)[0] == 400
        assert seek("yesterday")[0] == 400
        status, body = s.json("POST", "/admin/groups/mvg/position",
                              "not json", auth)
        assert status == 400 and "position" in body["error"]["message"]
        status, body = seek("earliest", group="nobody")
        assert status == 404, body
        assert s.json("GET", "/admin/groups/mvg/position",
                      headers=auth)[0] == 405
    finally:
        s.close()


# --- Limits, keep-alive and pipelining ---------------------------------------

def raw_exchange(server, payload, expect_responses):
    with socket.create_connection((server.host, server.port), 10) as sock:
        sock.sendall(payload)
        data = b""
        while data.count(b"HTTP/1.1 ") < expect_responses or \
                not complete(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace")


def complete(data):
    last = data.rfind(b"HTTP/1.1 ")
    head_end = data.find(b"\r\n\r\n", last)
    if head_end < 0:
        return False
    m = re.search(rb"Content-Length: (\d+)", data[last:head_end])
    return len(data) >= head_end + 4 + (int(m.group(1)) if m else 0)


def test_oversized_body_gets_413():
    s = Server(http_extra="max_body_bytes = 1000\n")
    try:
        out = subprocess.run(
            ["curl", "-sS", "-o", "-", "-w", "%{http_code}",
             s.base + "/topics/big/events",
             "-H", "ce-specversion: 1.0", "-H", "ce-source: /s",
             "-H", "ce-type: t", "--data-binary", "x" * 5000],
            capture_output=True, text=True, timeout=20)
        assert out.stdout.endswith("413"), out
        assert "exceeds the limit of 1000 bytes" in out.stdout
        assert s.json("GET", "/healthz")[0] == 200
    finally:
        s.close()


def test_malformed_request_gets_400_and_others_go_on(server):
    other = socket.create_connection((server.host, server.port), 10)
    data = raw_exchange(server, b"THIS IS NOT HTTP\r\n\r\n", 1)
    assert data.startswith("HTTP/1.1 400 ")
    assert "malformed HTTP request" in data
    other.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert other.recv(4096).startswith(b"HTTP/1.1 200 ")
    other.close()


def test_pipelined_requests_answer_in_order(server):
    requests = b""
    for i in range(10):
        body = f"p{i}".encode()
        requests += (b"POST /topics/pipe/events HTTP/1.1\r\nHost: x\r\n"
                     b"ce-specversion: 1.0\r\nce-source: /s\r\nce-type: t\r\n"
                     b"ce-id: p" + str(i).encode() + b"\r\n"
                     b"Content-Length: " + str(len(body)).encode() +
                     b"\r\n\r\n" + body)
    data = raw_exchange(server, requests, 10)
    sequences = [int(m) for m in re.findall(r'"sequence":(\d+)', data)]
    assert sequences == list(range(1, 11))


def test_curl_reuses_a_keep_alive_connection(server):
    out = subprocess.run(
        ["curl", "-sS", "-v", server.base + "/healthz",
         server.base + "/readyz"],
        capture_output=True, text=True, timeout=20, check=True)
    assert "Re-using existing connection" in out.stderr or \
        "Reusing existing connection" in out.stderr
