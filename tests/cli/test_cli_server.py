"""eventmesh-cli against a real eventmesh-server over tcp://: every command
a user runs against a server, with the responder and the requester in
separate processes."""

import base64
import json
import os
import re
import subprocess
import time

import pytest

CLI = os.environ.get("EVENTMESH_CLI", "eventmesh-cli")
SERVER = os.environ.get("EVENTMESH_SERVER")

pytestmark = pytest.mark.skipif(not SERVER, reason="eventmesh-server not built")


def run(*args, input=None, timeout=60):
    env = dict(os.environ)
    env.pop("EVENTMESH_URL", None)
    return subprocess.run([CLI, *args], input=input, env=env,
                          capture_output=True, timeout=timeout)


@pytest.fixture
def url(tmp_path):
    """Starts a server on an ephemeral loopback port; yields its tcp:// URL."""
    log_path = tmp_path / "server.log"
    with open(log_path, "w+") as log:
        proc = subprocess.Popen(
            [SERVER, "--listen", "127.0.0.1:0", "--data",
             str(tmp_path / "data"), "--log-level", "info"],
            stderr=log, env=dict(os.environ,
                                 EVENTMESH_HTTP_LISTEN="127.0.0.1:0"))
        try:
            address = None
            deadline = time.time() + 20
            while address is None and time.time() < deadline:
                log.seek(0)
                m = re.search(r"listening tcp (\S+)", log.read())
                if m:
                    address = m.group(1)
                else:
                    assert proc.poll() is None, "server exited at start"
                    time.sleep(0.05)
            assert address, "server did not start"
            yield "tcp://" + address
        finally:
            proc.kill()
            proc.wait(timeout=20)


def test_pub_then_sub_over_tcp(url):
    for i in range(3):
        p = run("--url", url, "pub", "orders.created", f"order {i}",
                "--source", "/test", "--type", "order.created")
        assert p.returncode == 0, p.stderr
        assert p.stdout == f"{i + 1}\n".encode()
    p = run("--url", url, "sub", "orders.*", "--from", "earliest", "--count",
            "3", "--timeout", "10", "--json")
    assert p.returncode == 0, p.stderr
    events = [json.loads(line) for line in p.stdout.decode().splitlines()]
#No content type was given, so the data travels as bytes.
    assert [base64.b64decode(e["data_base64"]) for e in events] == [
        b"order 0", b"order 1", b"order 2"]
    assert {e["source"] for e in events} == {"/test"}


def test_reply_runs_command_for_requests_from_another_process(url):
    responder = subprocess.Popen(
        [CLI, "--url", url, "reply", "svc.upper", "--group", "upper",
         "--count", "2", "--timeout", "30", "--", "tr", "a-z", "A-Z"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
#The responder subscribes after it starts; retry until it answers.
        answer = None
        deadline = time.time() + 20
        while answer is None and time.time() < deadline:
            p = run("--url", url, "request", "svc.upper", "hello mesh",
                    "--timeout", "1")
            if p.returncode == 0:
                answer = p.stdout
            else:
                assert b"timeout" in p.stderr.lower(), p.stderr
        assert answer == b"HELLO MESH\n"
        p = run("--url", url, "request", "svc.upper", "second", "--timeout",
                "5")
        assert p.returncode == 0, p.stderr
        assert p.stdout == b"SECOND\n"
        out, err = responder.communicate(timeout=30)
        assert responder.returncode == 0, err
    finally:
        if responder.poll() is None:
            responder.kill()
            responder.wait(timeout=10)


def test_durable_ack_resumes_over_tcp(url):
    for i in range(4):
        assert run("--url", url, "pub", "jobs", f"job {i}").returncode == 0
    p = run("--url", url, "sub", "jobs", "--durable", "workers", "--from",
            "earliest", "--ack", "--count", "2", "--timeout", "10")
    assert p.returncode == 0, p.stderr
    assert b"job 0" in p.stdout and b"job 1" in p.stdout
#A new process of the same durable group starts after the acked two.
    p = run("--url", url, "sub", "jobs", "--durable", "workers", "--ack",
            "--count", "2", "--timeout", "10")
    assert p.returncode == 0, p.stderr
    assert b"job 2" in p.stdout and b"job 3" in p.stdout
    assert b"job 0" not in p.stdout


def test_topics_groups_stats_over_tcp(url):
    assert run("--url", url, "pub", "inventory.low", "x").returncode == 0
    p = run("--url", url, "topics", "--json")
    assert p.returncode == 0, p.stderr
    topics = json.loads(p.stdout)
    assert any(t["topic"] == "inventory.low" and t["count"] == 1
               for t in topics), topics
    p = run("--url", url, "stats", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["published"] >= 1
    p = run("--url", url, "groups", "--json")
    assert p.returncode == 0, p.stderr
    assert isinstance(json.loads(p.stdout), list)


def test_bad_topic_over_tcp_is_a_usage_error(url):
    p = run("--url", url, "pub", "bad..topic", "x")
    assert p.returncode == 2
    assert p.stderr.decode().count("\n") == 1


def test_topics_delete_and_groups_seek_over_tcp(url):
    p = run("--url", url, "pub", "jobs", "j", "--count", "3")
    assert p.returncode == 0, p.stderr
    p = run("--url", url, "sub", "jobs", "--durable", "w", "--from",
            "earliest", "--ack", "--count", "3", "--timeout", "10")
    assert p.stdout.splitlines() == [b"jobs 1 j", b"jobs 2 j", b"jobs 3 j"]
    p = run("--url", url, "groups", "seek", "w", "2")
    assert p.returncode == 0, p.stderr
    p = run("--url", url, "sub", "jobs", "--durable", "w", "--ack",
            "--count", "2", "--timeout", "10")
    assert p.stdout.splitlines() == [b"jobs 2 j", b"jobs 3 j"]

    p = run("--url", url, "topics", "delete", "jobs", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"topic": "jobs", "deleted": True,
                                    "next_sequence": 4}
    p = run("--url", url, "topics", "delete", "jobs")
    assert p.returncode == 1
    assert b"no stored events" in p.stderr
    p = run("--url", url, "groups", "seek", "nobody", "earliest")
    assert p.returncode == 1
    assert b"nobody" in p.stderr
    assert run("--url", url, "pub", "jobs", "k").stdout == b"4\n"
