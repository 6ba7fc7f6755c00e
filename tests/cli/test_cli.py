"""eventmesh-cli, one test per behaviour: commands, flags, output formats,
exit codes (0 done, 1 failed, 2 usage) and one-line errors on stderr."""

import base64
import json
import os
import pty
import subprocess
import sys

import pytest

CLI = os.environ.get("EVENTMESH_CLI", "eventmesh-cli")


def run(*args, input=None, cwd=None, env=None, timeout=60):
    full_env = dict(os.environ)
    full_env.pop("EVENTMESH_URL", None)
    if env:
        full_env.update(env)
    return subprocess.run([CLI, *args], input=input, cwd=cwd, env=full_env,
                          capture_output=True, timeout=timeout)


def one_line_error(proc):
    err = proc.stderr.decode()
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    return err


@pytest.fixture
def url(tmp_path):
    return str(tmp_path / "data")


def test_version():
    p = run("--version")
    assert p.returncode == 0
    assert p.stdout.decode().startswith("eventmesh-cli 0.")


@pytest.mark.parametrize("cmd", [[], ["pub"], ["sub"], ["request"], ["reply"],
                                 ["topics"], ["groups"], ["stats"],
                                 ["nodes"]])
def test_help_everywhere(cmd):
    for flag in ("-h", "--help"):
        p = run(*cmd, flag)
        assert p.returncode == 0
        assert p.stdout.decode().startswith("usage: eventmesh-cli")
        assert p.stderr == b""


def test_no_command_is_a_usage_error():
    p = run()
    assert p.returncode == 2
    assert b"usage:" in p.stderr


def test_unknown_command_and_flag():
    p = run("publish", "x")
    assert p.returncode == 2
    assert "unknown command 'publish'" in one_line_error(p)
    p = run("pub", "t", "x", "--colour", "red")
    assert p.returncode == 2
    assert "--colour" in one_line_error(p)
    p = run("pub", "t", "x", "--count")
    assert p.returncode == 2
    assert "needs a value" in one_line_error(p)
    p = run("pub", "t", "x", "--count", "many")
    assert p.returncode == 2
    one_line_error(p)


def test_bad_topic_is_a_usage_error(url):
    p = run("--url", url, "pub", "orders..created", "x")
    assert p.returncode == 2
    assert "orders..created" in one_line_error(p)
    p = run("--url", url, "sub", "orders.>.x")
    assert p.returncode == 2
    one_line_error(p)
    # Nothing was stored.
    assert not os.path.exists(url) or json.loads(
        run("--url", url, "topics", "--json").stdout) == []


def test_bad_url_fails_with_one_line(tmp_path):
    p = run("--url", "bogus://nowhere", "topics")
    assert p.returncode == 1
    assert "error" in one_line_error(p)
    p = run("--url", "tcp://127.0.0.1:1", "stats")
    assert p.returncode == 1
    one_line_error(p)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    p = run("--url", str(blocker), "topics")
    assert p.returncode == 1
    one_line_error(p)


def test_pub_prints_sequences(url):
    p = run("--url", url, "pub", "orders.created", "first")
    assert (p.returncode, p.stdout) == (0, b"1\n")
    p = run("pub", "orders.created", "second", "--url", url, "--json")
    assert p.returncode == 0
    assert json.loads(p.stdout) == {"topic": "orders.created", "sequence": 2}


def test_pub_reads_stdin_when_data_is_omitted(url):
    p = run("--url", url, "pub", "in", input=b"line one\nline two\n")
    assert (p.returncode, p.stdout) == (0, b"1\n")
    p = run("--url", url, "sub", "in", "--from", "earliest", "--count", "1",
            "--json", "--timeout", "10")
    event = json.loads(p.stdout)
    # No content type: the data is written as base64.
    assert base64.b64decode(event["data_base64"]) == b"line one\nline two\n"


def test_pub_count_attributes_and_ids(url):
    p = run("--url", url, "pub", "many", "x", "--count", "5", "--id", "run",
            "--type", "com.example.t", "--source", "/cli/test",
            "--attr", "subject=s1", "--attr", "traceid=abc",
            "--durability", "none")
    assert p.returncode == 0
    assert p.stdout.split() == [b"1", b"2", b"3", b"4", b"5"]
    p = run("--url", url, "sub", "many", "--from", "earliest", "--count", "5",
            "--json", "--timeout", "10")
    events = [json.loads(line) for line in p.stdout.splitlines()]
    assert [e["id"] for e in events] == ["run-%d" % i for i in range(1, 6)]
    assert events[0]["type"] == "com.example.t"
    assert events[0]["source"] == "/cli/test"
    assert events[0]["subject"] == "s1"
    assert events[0]["traceid"] == "abc"
    assert events[4]["sequence"] in (5, "5")


def test_pub_bad_flags(url):
    for args in (["--durability", "maybe"], ["--attr", "novalue"],
                 ["--attr", "Bad-Name=x"], ["--count", "0"]):
        p = run("--url", url, "pub", "t", "x", *args)
        assert p.returncode == 2, args
        one_line_error(p)


def test_url_from_environment_and_default(tmp_path):
    env_url = str(tmp_path / "from-env")
    p = run("pub", "t", "x", env={"EVENTMESH_URL": env_url})
    assert p.returncode == 0
    assert os.path.isdir(env_url)
    # --url wins over the environment.
    other = str(tmp_path / "flag")
    run("--url", other, "pub", "t", "x", env={"EVENTMESH_URL": env_url})
    assert os.path.isdir(other)
    # Without either: ./data in the working directory.
    p = run("pub", "t", "x", cwd=tmp_path)
    assert p.returncode == 0
    assert os.path.isdir(tmp_path / "data")


def test_sub_text_output(url):
    run("--url", url, "pub", "a.b", "hello")
    p = run("--url", url, "sub", "a.*", "--from", "earliest", "--count", "1",
            "--timeout", "10")
    assert p.returncode == 0
    assert p.stdout == b"a.b 1 hello\n"


def test_sub_json_pipes_into_another_tool(url):
    run("--url", url, "pub", "pipe.x", "p", "--count", "3")
    reader = ("import json, sys\n"
              "events = [json.loads(line) for line in sys.stdin]\n"
              "print(len(events), events[0]['specversion'],"
              " events[-1]['topic'])\n")
    cmd = (f"'{CLI}' --url '{url}' sub 'pipe.>' --from earliest --count 3 "
           f"--json --timeout 10 | {sys.executable} -c \"{reader}\"")
    p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"3 1.0 pipe.x\n"


def test_sub_timeout_before_count_fails(url):
    run("--url", url, "pub", "slow", "only one")
    p = run("--url", url, "sub", "slow", "--from", "earliest", "--count", "2",
            "--timeout", "0.5")
    assert p.returncode == 1
    assert "timeout" in one_line_error(p)
    assert p.stdout == b"slow 1 only one\n"
    # Without --count, a timeout just ends the run.
    p = run("--url", url, "sub", "slow", "--timeout", "0.2")
    assert (p.returncode, p.stdout) == (0, b"")


def test_sub_from_sequence_and_bad_from(url):
    run("--url", url, "pub", "s", "x", "--count", "4")
    p = run("--url", url, "sub", "s", "--from", "3", "--count", "2",
            "--timeout", "10")
    assert p.stdout.splitlines() == [b"s 3 x", b"s 4 x"]
    p = run("--url", url, "sub", "s", "--from", "yesterday")
    assert p.returncode == 2
    one_line_error(p)


def test_sub_durable_ack_resumes(url):
    run("--url", url, "pub", "jobs", "j", "--count", "3")
    first = run("--url", url, "sub", "jobs", "--durable", "workers",
                "--from", "earliest", "--ack", "--count", "2",
                "--timeout", "10")
    assert first.returncode == 0
    assert first.stdout.splitlines() == [b"jobs 1 j", b"jobs 2 j"]
    rest = run("--url", url, "sub", "jobs", "--durable", "workers", "--ack",
               "--count", "1", "--timeout", "10")
    assert rest.stdout.splitlines() == [b"jobs 3 j"]
    p = run("--url", url, "sub", "jobs", "--ack")
    assert p.returncode == 2
    assert "--durable" in one_line_error(p)


def test_sub_group(url):
    run("--url", url, "pub", "g", "x", "--count", "2")
    p = run("--url", url, "sub", "g", "--group", "readers", "--from",
            "earliest", "--count", "2", "--timeout", "10")
    assert p.returncode == 0
    assert len(p.stdout.splitlines()) == 2


def test_topics_groups_stats(url):
    run("--url", url, "pub", "b.t", "x")
    run("--url", url, "pub", "a.t", "x", "--count", "2")
    run("--url", url, "sub", "a.t", "--durable", "keep", "--from", "earliest",
        "--count", "1", "--timeout", "10")
    p = run("--url", url, "topics", "--json")
    topics = json.loads(p.stdout)
    assert [t["topic"] for t in topics] == ["a.t", "b.t"]  # no dead letters
    assert topics[0]["count"] == 2 and topics[0]["last_sequence"] == 2
    text = run("--url", url, "topics").stdout.decode().splitlines()
    assert text[0].split()[0] == "TOPIC" and text[1].split()[0] == "a.t"
    # The durable "keep" has no member now; its stored state lists it.
    p = run("--url", url, "groups", "--json")
    assert p.returncode == 0
    groups = json.loads(p.stdout)
    assert [g["name"] for g in groups] == ["keep"]
    assert groups[0]["pattern"] == "a.t"
    text = run("--url", url, "groups").stdout.decode().splitlines()
    assert text[0].split()[:3] == ["NAME", "PATTERN", "DURABLE"]
    stats = json.loads(run("--url", url, "stats", "--json").stdout)
    assert "published" in stats and "store" in stats
    text = run("--url", url, "stats").stdout.decode()
    assert "published " in text
    p = run("--url", url, "topics", "extra")
    assert p.returncode == 2


def test_topics_delete(url):
    run("--url", url, "pub", "del.t", "x", "--count", "3")
    run("--url", url, "pub", "del.kept", "x")
    p = run("--url", url, "topics", "delete", "del.t")
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode() == \
        "deleted the events of del.t; its next event gets sequence 4\n"
    topics = json.loads(run("--url", url, "topics", "--json").stdout)
    assert {t["topic"]: t["count"] for t in topics} == \
        {"del.kept": 1, "del.t": 0}
    # Numbering goes on after a delete.
    assert run("--url", url, "pub", "del.t", "y").stdout == b"4\n"
    p = run("--url", url, "topics", "delete", "del.t", "--json")
    assert json.loads(p.stdout) == {"topic": "del.t", "deleted": True,
                                    "next_sequence": 5}

    p = run("--url", url, "topics", "delete", "del.t")
    assert p.returncode == 1
    assert "no stored events" in one_line_error(p)
    p = run("--url", url, "topics", "delete", "bad..topic")
    assert p.returncode == 2
    assert "bad..topic" in one_line_error(p)
    p = run("--url", url, "topics", "delete")
    assert p.returncode == 2
    assert "TOPIC" in one_line_error(p)
    p = run("--url", url, "topics", "remove", "del.t")
    assert p.returncode == 2
    one_line_error(p)


def test_topics_delete_clears_a_dead_letter_queue(url):
    run("--url", url, "pub", "$DLQ.g.orders", "dead")
    p = run("--url", url, "topics", "delete", "$DLQ.g.orders")
    assert p.returncode == 0, p.stderr
    topics = json.loads(run("--url", url, "topics", "--json").stdout)
    assert [t["count"] for t in topics if t["topic"] == "$DLQ.g.orders"] \
        == [0]


def test_groups_seek(url):
    run("--url", url, "pub", "jobs", "j", "--count", "3")
    first = run("--url", url, "sub", "jobs", "--durable", "w", "--from",
                "earliest", "--ack", "--count", "3", "--timeout", "10")
    assert first.stdout.splitlines() == [b"jobs 1 j", b"jobs 2 j",
                                         b"jobs 3 j"]
    p = run("--url", url, "groups", "seek", "w", "2")
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode() == "moved group w to 2\n"
    again = run("--url", url, "sub", "jobs", "--durable", "w", "--ack",
                "--count", "2", "--timeout", "10")
    assert again.stdout.splitlines() == [b"jobs 2 j", b"jobs 3 j"]

    p = run("--url", url, "groups", "seek", "w", "earliest", "--json")
    assert json.loads(p.stdout) == {"group": "w", "position": "earliest"}
    groups = json.loads(run("--url", url, "groups", "--json").stdout)
    assert [(g["name"], g["lag"]) for g in groups] == [("w", 4)]
    assert run("--url", url, "groups", "seek", "w", "latest").returncode == 0
    groups = json.loads(run("--url", url, "groups", "--json").stdout)
    assert groups[0]["lag"] == 0
    p = run("--url", url, "groups", "seek", "w", "2026-01-01T00:00:00Z")
    assert p.returncode == 0, p.stderr


def test_groups_seek_errors(url):
    run("--url", url, "pub", "a.b", "x")
    run("--url", url, "sub", "a.*", "--durable", "wide", "--from",
        "earliest", "--ack", "--count", "1", "--timeout", "10")
    p = run("--url", url, "groups", "seek", "wide", "1")
    assert p.returncode == 1
    assert "one topic" in one_line_error(p)
    p = run("--url", url, "groups", "seek", "nobody", "earliest")
    assert p.returncode == 1
    assert "nobody" in one_line_error(p)
    p = run("--url", url, "groups", "seek", "wide", "yesterday")
    assert p.returncode == 2
    assert "yesterday" in one_line_error(p)
    p = run("--url", url, "groups", "seek", "wide")
    assert p.returncode == 2
    assert "DURABLE POSITION" in one_line_error(p)


def test_nodes_needs_a_server_with_a_cluster(url):
    # An embedded mesh has no cluster: one line, exit 1, no waiting.
    p = run("--url", url, "nodes")
    assert p.returncode == 1
    assert "no cluster" in one_line_error(p)
    assert run("--url", url, "nodes", "extra").returncode == 2
    assert run("--url", url, "nodes", "--timeout", "x").returncode == 2


def test_request_times_out_without_responder(url):
    p = run("--url", url, "request", "svc.none", "ping", "--timeout", "0.3")
    assert p.returncode == 1
    assert "timeout" in one_line_error(p)
    p = run("--url", url, "request", "svc.none")
    assert p.returncode == 2
    p = run("--url", url, "request", "svc..x", "d")
    assert p.returncode == 2


def test_reply_usage_errors(url):
    p = run("--url", url, "reply", "svc.>")
    assert p.returncode == 2
    assert "COMMAND" in one_line_error(p)
    p = run("--url", url, "reply", "svc..>", "--", "cat")
    assert p.returncode == 2


def test_reply_answers_with_command_output(url):
    # On an embedded mesh the responder and the requester must share a
    # process; the reply command still runs for real, so check that it
    # waits and exits cleanly on --timeout with nothing to answer.
    p = run("--url", url, "reply", "svc.echo", "--timeout", "0.3", "--",
            "tr", "a-z", "A-Z")
    assert p.returncode == 0
    assert p.stdout == b""


def _pty_stderr(args):
    """Runs the CLI with stderr on a pseudo-terminal; returns what it got."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([CLI, *args], stdout=subprocess.DEVNULL,
                            stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(master)
    return proc.returncode, b"".join(chunks)


def test_progress_only_on_a_terminal(url):
    p = run("--url", url, "pub", "prog", "x", "--count", "3000",
            "--durability", "none")
    assert p.returncode == 0
    assert p.stderr == b""
    rc, err = _pty_stderr(["--url", url, "pub", "prog", "x", "--count",
                           "3000", "--durability", "none"])
    assert rc == 0
    assert b"published 3000/3000" in err
    rc, err = _pty_stderr(["--url", url, "sub", "prog", "--from", "earliest",
                           "--count", "6000", "--timeout", "30"])
    assert rc == 0
    assert b"received" in err
