"""eventmesh.Mesh: open, publish, subscribe (callback and iterator),
groups, durable acks, request/reply, listings and errors."""

import datetime
import threading
import time

import pytest

import eventmesh

T = dict(type="com.example.test", source="/tests/python")


def test_open_errors():
    with pytest.raises(eventmesh.InvalidArgument):
        eventmesh.open("bogus://nowhere")
    with pytest.raises(eventmesh.InvalidArgument, match="unknown option"):
        eventmesh.open("mem:", colour="blue")
    with pytest.raises(eventmesh.InvalidArgument):
        eventmesh.open("mem:", durability="sometimes")
    with pytest.raises((eventmesh.Unavailable, eventmesh.Unimplemented)):
        eventmesh.open("tcp://127.0.0.1:1", connect_timeout=0.5)


def test_publish_returns_sequences(mesh):
    assert mesh.publish("orders.created", b"a", **T) == 1
    assert mesh.publish("orders.created", "b", **T) == 2
    assert mesh.publish("orders.paid", {"x": 1}, **T) == 1
    assert mesh.publish("orders.paid", None, subject="s", traceid="t",
                        durability="none", **T) == 2
    assert mesh.node_id


def test_publish_errors_lose_nothing(mesh):
    mesh.publish("t", b"1", **T)
    with pytest.raises(eventmesh.InvalidArgument, match="a..b"):
        mesh.publish("a..b", b"x", **T)
    with pytest.raises(eventmesh.InvalidArgument):
        mesh.publish("t", b"x", type="t", source="")
    with pytest.raises(eventmesh.InvalidArgument):
        mesh.publish("t", b"x", durability="maybe", **T)
    with pytest.raises(eventmesh.InvalidArgument):
        mesh.publish("t", 3.5, **T)
    assert mesh.publish("t", b"2", **T) == 2


def test_duplicate_id_returns_first_sequence(mesh):
    first = mesh.publish("d", b"x", id="same", **T)
    assert mesh.publish("d", b"x", id="same", **T) == first
    assert mesh.stats()["duplicates"] >= 1


def test_publish_many(mesh):
    seqs = mesh.publish_many("bulk", (b"%d" % i for i in range(20000)), **T)
    assert seqs == list(range(1, 20001))
    topics = {t["topic"]: t for t in mesh.topics()}
    assert topics["bulk"]["count"] == 20000
    with pytest.raises(eventmesh.InvalidArgument):
        mesh.publish_many("bad..topic", [b"x"], **T)
    assert mesh.publish_many("bulk", [], **T) == []


def test_callback_receives_events(mesh):
    got = []
    done = threading.Event()

    def on_event(e):
        got.append((e.topic, e.sequence, e.data, e.type, e.attempt,
                    threading.get_ident()))
        if len(got) == 2:
            done.set()

    sub = mesh.subscribe("orders.*", on_event)
    mesh.publish("orders.created", b"1", **T)
    mesh.publish("payments.done", b"skip", **T)
    mesh.publish("orders.paid", b"2", **T)
    assert done.wait(5)
    assert [g[:4] for g in got] == [("orders.created", 1, b"1", T["type"]),
                                    ("orders.paid", 1, b"2", T["type"])]
    assert got[0][4] == 1
    assert got[0][5] != threading.get_ident()  # a mesh thread
    assert sub.stats()["delivered"] == 2
    sub.unsubscribe()
    sub.unsubscribe()
    mesh.publish("orders.created", b"3", **T)
    time.sleep(0.1)
    assert len(got) == 2


def test_raising_callback_does_not_stop_delivery(mesh):
    seen, reported = [], []
    done = threading.Event()

    def on_event(e):
        seen.append(e.data)
        if len(seen) == 3:
            done.set()
        if e.data == b"boom":
            raise RuntimeError("callback failed")

    eventmesh.set_callback_error_hook(
        lambda exc, ev, sub: reported.append((str(exc), ev.data)))
    try:
        sub = mesh.subscribe("x", on_event)
        for data in (b"one", b"boom", b"three"):
            mesh.publish("x", data, **T)
        assert done.wait(5)
    finally:
        eventmesh.set_callback_error_hook(None)
    assert seen == [b"one", b"boom", b"three"]
    assert reported == [("callback failed", b"boom")]
    assert sub.callback_errors == 1


def test_raising_callback_is_logged_by_default(mesh, caplog):
    done = threading.Event()

    def on_event(e):
        try:
            raise ValueError("bad event")
        finally:
            done.set()

    mesh.subscribe("y", on_event)
    mesh.publish("y", b"x", **T)
    assert done.wait(5)
    for _ in range(50):
        if any("callback raised" in r.message for r in caplog.records):
            break
        time.sleep(0.02)
    assert any("callback raised" in r.message for r in caplog.records)


def test_iterator_with_timeout(mesh):
    sub = mesh.subscribe("it.>", timeout=0.3)
    for i in range(3):
        mesh.publish("it.a", b"%d" % i, **T)
    assert [e.data for e in sub] == [b"0", b"1", b"2"]
    with pytest.raises(eventmesh.Timeout):
        sub.get(timeout=0.05)
    sub.unsubscribe()
    with pytest.raises(eventmesh.Closed):
        sub.get(timeout=0.05)


def test_get_releases_the_gil(mesh):
    sub = mesh.subscribe("gil")
    ticks = []
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    with pytest.raises(eventmesh.Timeout):
        sub.get(timeout=0.3)
    stop.set()
    t.join()
    assert len(ticks) > 20


def test_start_positions_and_filter(mesh):
    for i in range(1, 6):
        mesh.publish("nums", b"%d" % i, type="odd" if i % 2 else "even",
                     source="/t")
    earliest = mesh.subscribe("nums", start="earliest", timeout=0.3,
                              filter=[{"exact": {"type": "odd"}}])
    assert [e.data for e in earliest] == [b"1", b"3", b"5"]
    from4 = mesh.subscribe("nums", start=4, timeout=0.3)
    assert [e.data for e in from4] == [b"4", b"5"]
    with pytest.raises(eventmesh.InvalidArgument):
        mesh.subscribe("nums", start="yesterday")
    with pytest.raises(eventmesh.InvalidArgument):
        mesh.subscribe("nums", filter='[{"exact": 3}]')
    with pytest.raises(eventmesh.InvalidArgument):
        mesh.subscribe("a..b")
    with pytest.raises(eventmesh.InvalidArgument):
        mesh.subscribe("nums", overflow="explode")


def test_group_members_share_events(mesh):
    a, b = [], []
    lock = threading.Lock()
    sa = mesh.subscribe("jobs.>", lambda e: a.append(e.data), group="w")
    sb = mesh.subscribe("jobs.>", lambda e: b.append(e.data), group="w")
    for i in range(40):
        mesh.publish("jobs.x", b"%d" % i, **T)
    deadline = time.time() + 5
    while len(a) + len(b) < 40 and time.time() < deadline:
        time.sleep(0.01)
    with lock:
        assert sorted(a + b) == sorted(b"%d" % i for i in range(40))
    groups = {g["name"]: g for g in mesh.groups()}
    assert groups["w"]["members"] == 2
    assert groups["w"]["pattern"] == "jobs.>"
    sa.unsubscribe()
    sb.unsubscribe()


def test_durable_manual_ack_survives_reopen(lmdb_url):
    with eventmesh.open(lmdb_url) as m:
        m.publish("work", b"w1", **T)
        sub = m.subscribe("work", durable="proc", start="earliest", ack=True,
                          ack_wait=0.2, timeout=5)
        first = sub.get(5)
        assert first.data == b"w1" and first.attempt == 1
        first.nack()
        again = sub.get(5)
        assert again.data == b"w1" and again.attempt == 2
        again.ack()
        sub.unsubscribe()
    with eventmesh.open(lmdb_url) as m:
        sub = m.subscribe("work", durable="proc", ack=True, timeout=0.5)
        m.publish("work", b"w2", **T)
        assert [e.data for e in sub] == [b"w2"]


def test_request_reply(mesh):
    def respond(req):
        mesh.reply(req, b"pong:" + req.data, type="pong")

    mesh.subscribe("svc.ping", respond, group="pingers")
    answer = mesh.request("svc.ping", b"x", timeout=5)
    assert answer.data == b"pong:x"
    assert answer.type == "pong"
    with pytest.raises(eventmesh.Timeout):
        mesh.request("svc.nobody", b"x", timeout=0.1)
    plain = eventmesh.make_event(b"x", type="t", source="/s")
    with pytest.raises(eventmesh.InvalidArgument):
        mesh.reply(plain, b"no reply wanted")


def test_topics_groups_stats(mesh):
    mesh.publish("b.t", b"1", **T)
    mesh.publish("a.t", b"1", **T)
    mesh.publish("a.t", b"2", **T)
    topics = mesh.topics()
    assert [t["topic"] for t in topics] == ["a.t", "b.t"]
    assert topics[0]["first_sequence"] == 1
    assert topics[0]["last_sequence"] == 2
    assert topics[0]["count"] == 2
    stats = mesh.stats()
    assert stats["published"] == 3
    assert stats["store"]["appended"] == 3
    assert isinstance(mesh.groups(), list)


def test_delete_topic_keeps_numbering(mesh):
    for i in range(3):
        mesh.publish("del.t", b"%d" % i, **T)
    mesh.delete_topic("del.t")
    info = [t for t in mesh.topics() if t["topic"] == "del.t"][0]
    assert (info["count"], info["last_sequence"]) == (0, 3)
    assert mesh.publish("del.t", b"again", **T) == 4
    with pytest.raises(eventmesh.NotFound):
        mesh.delete_topic("never.was")
    with pytest.raises(eventmesh.InvalidArgument):
        mesh.delete_topic("a..b")


def test_seek_group_moves_a_durable(lmdb_url):
    with eventmesh.open(lmdb_url) as m:
        for i in range(4):
            m.publish("seek.t", b"%d" % i, **T)
        sub = m.subscribe("seek.t", durable="sk", start="earliest",
                          timeout=0.5)
        assert [e.data for e in sub] == [b"0", b"1", b"2", b"3"]
        m.seek_group("sk", 3)  # a sequence of the group's one topic
        assert [e.data for e in sub] == [b"2", b"3"]
        m.seek_group("sk", "earliest")
        assert len(list(sub)) == 4
        m.seek_group("sk", datetime.datetime(2000, 1, 1))
        assert len(list(sub)) == 4
        sub.unsubscribe()
        # A durable with no member now moves too, and stays moved.
        m.seek_group("sk", "latest")
        with pytest.raises(eventmesh.NotFound):
            m.seek_group("nobody", "earliest")
        with pytest.raises(eventmesh.InvalidArgument):
            m.seek_group("sk", "yesterday")
        with pytest.raises(eventmesh.InvalidArgument):
            m.seek_group("sk", 99)
    with eventmesh.open(lmdb_url) as m:
        sub = m.subscribe("seek.t", durable="sk", timeout=0.5)
        m.publish("seek.t", b"4", **T)
        assert [e.data for e in sub] == [b"4"]


def test_closed_mesh_raises_closed():
    m = eventmesh.open("mem:")
    sub = m.subscribe("x")
    m.close()
    m.close()
    assert sub.closed
    with pytest.raises(eventmesh.Closed):
        m.publish("x", b"1", **T)


def test_log_handler_receives_messages(lmdb_url):
    lines = []
    eventmesh.set_log_handler(lambda lvl, mod, msg: lines.append((lvl, mod)),
                              eventmesh.LOG_TRACE)
    try:
        # A map too small for the event: refused, and the store says so.
        with eventmesh.open(lmdb_url, max_map_bytes=1 << 20) as m:
            with pytest.raises(eventmesh.ResourceExhausted):
                m.publish("logged", bytes(4 << 20), **T)
    finally:
        eventmesh.set_log_handler(None)
    assert lines
    assert all(0 <= lvl <= 4 for lvl, _ in lines)
