"""eventmesh-cli nodes and stats against real eventmesh-server processes
joined into a mesh of nodes on loopback (ephemeral ports)."""
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request

import pytest

SERVER = os.environ.get("EVENTMESH_SERVER", "eventmesh-server")
CLI = os.environ.get("EVENTMESH_CLI", "eventmesh-cli")


class Node:
    def __init__(self, tmp, name, seeds=None, cluster=True):
        config = os.path.join(tmp, name + ".toml")
        with open(config, "w") as f:
            f.write('listen = "127.0.0.1:0"\n'
                    f'data = "{os.path.join(tmp, "data-" + name)}"\n'
                    'durability = "none"\n'
                    '[http]\nlisten = "127.0.0.1:0"\n')
            if cluster:
                seed_list = ", ".join(f'"{s}"' for s in (seeds or []))
                f.write('[cluster]\n'
                        f'node_id = "{name}"\n'
                        'listen = "127.0.0.1:0"\n'
                        'down_after_ms = 1000\n'
                        f'seeds = [{seed_list}]\n')
        self.log = open(os.path.join(tmp, name + ".log"), "w+")
        self.proc = subprocess.Popen([SERVER, "--config", config],
                                     stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            self.log.seek(0)
            text = self.log.read()
            tcp = re.search(r"listening tcp (\S+)", text)
            link = re.search(r"listening (tcp://\S+)", text)
            http = re.search(r"listening http (\S+)", text)
            if tcp and http and (link or not cluster):
                self.url = "tcp://" + tcp.group(1)
                self.http = "http://" + http.group(1)
                self.link = link.group(1) if link else None
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("server did not start: " + text)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def cli(*args, timeout=30):
    env = dict(os.environ)
    env.pop("EVENTMESH_URL", None)
    return subprocess.run([CLI, *args], capture_output=True, env=env,
                          timeout=timeout)


@pytest.fixture
def two_nodes():
    with tempfile.TemporaryDirectory() as tmp:
        a = Node(tmp, "a")
        b = None
        try:
            b = Node(tmp, "b", seeds=[a.link])
            yield a, b
        finally:
            if b:
                b.stop()
            a.stop()


def wait_for(check, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    return check()


def states(url):
    p = cli("--url", url, "nodes", "--json")
    if p.returncode != 0:
        return {}
    return {n["id"]: n["state"] for n in json.loads(p.stdout)["nodes"]}


def test_nodes_lists_every_node_and_its_state(two_nodes):
    a, b = two_nodes
    assert wait_for(lambda: states(a.url) == {"a": "up", "b": "up"}), \
        states(a.url)
    reply = json.loads(cli("--url", b.url, "nodes", "--json").stdout)
    assert reply["node"] == "b"
    me = [n for n in reply["nodes"] if n["self"]]
    assert [n["id"] for n in me] == ["b"]
    assert reply["least_loaded"]["id"] in ("a", "b")
    p = cli("--url", a.url, "nodes")
    assert p.returncode == 0 and p.stderr == b""
    lines = p.stdout.decode().splitlines()
    assert lines[0].split()[:2] == ["NODE", "STATE"]
    rows = {line.split()[0]: line.split()[1] for line in lines[1:3]}
    assert rows == {"a*": "up", "b": "up"}
    assert lines[3].startswith("least loaded: ")

    # b stops: a marks it down within down_after_ms.
    b.stop()
    assert wait_for(lambda: states(a.url).get("b") == "down"), states(a.url)


def test_stats_shows_each_link(two_nodes):
    a, b = two_nodes
    assert wait_for(lambda: states(a.url) == {"a": "up", "b": "up"})

    def link_to_b():
        stats = json.loads(cli("--url", a.url, "stats", "--json").stdout)
        return {l["node"]: l for l in stats.get("links", [])}.get("b")
    assert wait_for(lambda: (link_to_b() or {}).get("interest", 0) >= 1)
    before = link_to_b()["interest"]
    # A subscriber on b makes a forward its events over the link.
    sub = subprocess.Popen([CLI, "--url", b.url, "sub", "links.>", "--count",
                            "5", "--timeout", "20"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: link_to_b()["interest"] > before)
        assert cli("--url", a.url, "pub", "links.x", "e", "--count",
                   "5").returncode == 0
        out, _ = sub.communicate(timeout=30)
        assert sub.returncode == 0 and len(out.splitlines()) == 5
    finally:
        if sub.poll() is None:
            sub.kill()
            sub.wait()
    link = link_to_b()
    assert link["state"] == "up"
    assert link["events_sent"] == 5 and link["events_dropped"] == 0
    assert link["messages_received"] > 0
    text = cli("--url", a.url, "stats").stdout.decode()
    assert re.search(r"^links\.b\.state up$", text, re.M), text
    assert re.search(r"^links\.b\.events_sent 5$", text, re.M), text
    # The same counters in /metrics.
    with urllib.request.urlopen(a.http + "/metrics", timeout=10) as r:
        metrics = r.read().decode()
    assert 'eventmesh_link_up{node="b"} 1\n' in metrics, metrics
    assert 'eventmesh_link_events_sent_total{node="b"} 5\n' in metrics
    assert 'eventmesh_link_in_flight{node="b"} 0\n' in metrics


def test_nodes_on_a_server_without_a_cluster():
    with tempfile.TemporaryDirectory() as tmp:
        n = Node(tmp, "solo", cluster=False)
        try:
            p = cli("--url", n.url, "nodes", "--timeout", "0.5")
            assert p.returncode == 1
            err = p.stderr.decode()
            assert err.count("\n") == 1 and "has no cluster" in err, err
            stats = json.loads(cli("--url", n.url, "stats", "--json").stdout)
            assert stats["links"] == []
        finally:
            n.stop()
