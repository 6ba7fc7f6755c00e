#!/usr/bin/python3
"""Writes the seeds of the cluster_message fuzz target (see
cluster_message_fuzz.cc for the framing: 2-byte length, then the frame)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "cluster_message")


def varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def string(s):
    s = s.encode() if isinstance(s, str) else s
    return varint(len(s)) + s


def header(kind, node="node-a", incarnation=12345):
    return bytes([1, kind]) + string(node) + varint(incarnation)


def frames(*parts):
    return b"".join(struct.pack("<H", len(p)) + p for p in parts)


def hello():
    known = string("node-b") + varint(7) + string("tcp://127.0.0.1:10301")
    return (string("tcp://127.0.0.1:10300") + string("127.0.0.1:10000") +
            varint(3) + varint(2) + varint(1000) + varint(4) + varint(1) +
            known)


def interest(full):
    changes = (bytes([1]) + string("orders.>") + string("") +
               bytes([0]) + string("jobs.*") + string("workers"))
    return bytes([1 if full else 0]) + varint(3) + varint(4) + varint(2) + \
        changes


def durable_interest():
    # op 3: added + durable; then ack_wait_ms, max_deliver, max_in_flight,
    # start kind, start value.
    change = (bytes([3]) + string("orders.>") + string("billing") +
              varint(30000) + varint(5) + varint(1024) + bytes([1]) +
              varint(0) +
              bytes([2]) + string("jobs.*") + string("audit") +
              varint(1000) + varint(0) + varint(1) + bytes([3]) +
              varint(1700000000000000000))
    return bytes([0]) + varint(4) + varint(5) + varint(2) + change


def durable_event_frame():
    sample = os.path.join(HERE, "corpus", "event_binary")
    name = sorted(os.listdir(sample))[0]
    with open(os.path.join(sample, name), "rb") as f:
        event = f.read()
    return string("billing") + varint(4711) + varint(2) + event


def durable_acks():
    return (string("billing") + varint(3) +
            bytes([0]) + varint(4711) + varint(0) +
            bytes([0]) + varint(4712) + varint(0) +
            bytes([1]) + varint(4713) + varint(250))


def event_frame():
    sample = os.path.join(HERE, "corpus", "event_binary")
    name = sorted(os.listdir(sample))[0]
    with open(os.path.join(sample, name), "rb") as f:
        event = f.read()
    return bytes([1]) + varint(1) + string("workers\norders.>") + event


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "hello": frames(header(1), hello()),
        "heartbeat": frames(header(2), hello()),
        "interest_full": frames(header(3), interest(True)),
        "interest_delta": frames(header(3), interest(False)),
        "resync": frames(header(4)),
        "events": frames(header(5), event_frame(), event_frame()),
        "durable_interest": frames(header(3), durable_interest()),
        "durable_events": frames(header(6), durable_event_frame(),
                                 durable_event_frame()),
        "durable_acks": frames(header(7), durable_acks(),
                               string("audit") + varint(0)),
        "bad_version": frames(bytes([9, 1]) + string("x") + varint(1),
                              hello()),
        "short_hello": frames(header(1), hello()[:-3]),
        "huge_count": frames(header(3), bytes([0]) + varint(1) + varint(2) +
                             varint(1 << 40)),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
