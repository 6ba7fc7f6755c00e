#!/usr/bin/python3
"""Writes the seed inputs of frame_fuzz into corpus/frame/.

Each seed is one byte choosing the read size, then a stream of frames as
docs/protocol.md describes. Events inside frames are taken from
corpus/event_binary/minimal.bin when it exists.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "frame")


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def text(s):
    b = s.encode() if isinstance(s, str) else s
    return varint(len(b)) + b


def frame(kind, body=b"", request_id=0):
    return struct.pack("<IBBHQ", len(body), kind, 0, 0, request_id) + body


def event_bytes():
    path = os.path.join(HERE, "corpus", "event_binary", "minimal.bin")
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    return b"\x01"


def main():
    os.makedirs(OUT, exist_ok=True)
    ev = event_bytes()
    hello = b"EMSH" + varint(1) + varint(1) + text("seed") + text("") + \
        text("alice") + text("secret")
    subscribe = (varint(7) + text("orders.*") + text("g") + text("d") +
                 b"\x01" + varint(0) + varint(0) + b"\x01" + varint(30000) +
                 varint(10) + varint(1024) + varint(65536) + b"\x00" +
                 varint(1000) + text('[{"exact":{"type":"a"}}]') + varint(64))
    seeds = {
        "hello_publish": frame(1, hello) +
        frame(5, b"\x00" + text("orders.eu") + text(ev), 1),
        "subscribe_credit_ack": frame(9, subscribe, 2) +
        frame(11, varint(7) + varint(100)) +
        frame(13, varint(2) + varint(1) + varint(2)) +
        frame(14, varint(1) + varint(3) + varint(500), 9),
        "deliver": frame(12, varint(7) + varint(2) + varint(1) + varint(1) +
                         text(ev) + varint(2) + varint(3) + text(ev)),
        "batch_and_results": frame(7, b"\x01" + varint(2) + text("a") +
                                   text(ev) + text("b") + text(ev), 3) +
        frame(8, varint(2) + varint(1) + varint(2), 3) +
        frame(16, varint(1) + text(ev), 4),
        "admin": frame(17, b"", 5) + frame(19, b"", 6) + frame(21, b"", 7) +
        frame(23, text("workers"), 8) + frame(18, varint(1) + text("t") +
                                             varint(1) * 4),
        "admin_delete_seek": frame(29, text("$DLQ.workers.orders"), 11) +
        frame(30, text("workers") + b"\x02" + varint(5) + varint(0), 12) +
        frame(30, text("workers") + b"\x03" + varint(0) +
              varint(3400000000000000000), 13),
        "error_goodbye": frame(26, b"\x04" + text("user 'bob' may not"), 9) +
        frame(27, text("bye")) + frame(3, b"", 10) + frame(4, b"", 10),
        "truncated": (frame(5, b"\x00" + text("orders.eu") + text(ev), 1))[:-3],
        "oversized": struct.pack("<IBBHQ", 1 << 20, 5, 0, 0, 1),
        "bad_reserved": struct.pack("<IBBHQ", 0, 3, 0, 7, 0),
        "overlong_varint": frame(11, b"\xff" * 11),
    }
    for i, (name, data) in enumerate(sorted(seeds.items())):
        with open(os.path.join(OUT, name + ".bin"), "wb") as f:
            f.write(bytes([i * 7 % 64]) + data)


if __name__ == "__main__":
    main()
