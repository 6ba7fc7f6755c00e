#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/.

The binary seeds are encoded here, independently of the C++ encoder, from
the layout documented in libeventmesh/src/event/binary_codec.h. Run it
again after changing a format, and commit what it writes.
"""

import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORE = ["id", "source", "type", "specversion", "subject", "time",
        "datacontenttype", "dataschema"]


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def string(s):
    b = s if isinstance(s, bytes) else s.encode()
    return varint(len(b)) + b


def zigzag(n):
    return ((n << 1) ^ (n >> 63)) & 0xFFFFFFFFFFFFFFFF


def encode(event):
    out = bytes([1]) + string(event.get("topic", ""))
    out += varint(event.get("sequence", 0))
    out += varint(zigzag(event.get("stored_at", 0)))
    for name in CORE:
        out += string(event.get(name, "1.0" if name == "specversion" else ""))
    extensions = event.get("extensions", [])
    out += varint(len(extensions))
    for name, value in extensions:
        out += string(name) + string(value)
    return out + string(event.get("data", b""))


ORDER = {
    "id": "order-1001", "source": "/shop/orders", "type": "order.created",
    "subject": "customer/42", "time": "2026-12-03T13:45:00.123456789Z",
    "datacontenttype": "application/json",
    "dataschema": "https://schemas.example.com/order.json",
    "extensions": [("traceparent", "00-abc-def-01"), ("region", "eu1")],
    "data": b'{"order":1001,"items":["book","pen"]}',
    "topic": "shop.orders.eu", "sequence": 77,
    "stored_at": 1796305500123456789,
}


def write(target, name, content):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(os.path.join(folder, name), mode) as f:
        f.write(content)


def binary_seeds():
    write("event_binary", "order.bin", encode(ORDER))
    write("event_binary", "minimal.bin",
          encode({"id": "1", "source": "s", "type": "t"}))
    write("event_binary", "empty_fields.bin", encode({"specversion": ""}))
    write("event_binary", "extremes.bin", encode({
        "id": "x", "source": "s", "type": "t", "sequence": 2**64 - 1,
        "stored_at": -2**63, "datacontenttype": "text/plain",
        "data": bytes(range(256))}))
    write("event_binary", "truncated.bin", encode(ORDER)[:-5])
    write("event_binary", "version2.bin", b"\x02" + encode(ORDER)[1:])


def json_seeds():
    order = {"specversion": "1.0", "id": "order-1001",
             "source": "/shop/orders", "type": "order.created",
             "subject": "customer/42",
             "time": "2026-12-03T13:45:00.123456789Z",
             "datacontenttype": "application/json",
             "traceparent": "00-abc-def-01", "count": 3, "flag": True,
             "data": {"order": 1001, "items": ["book", "pen"], "x": 1.5}}
    write("event_json", "order.json", json.dumps(order))
    text = dict(order, datacontenttype="text/plain; charset=utf-8",
                data="h\u00e9llo\n")
    write("event_json", "text.json", json.dumps(text, ensure_ascii=False))
    binary = dict(order, datacontenttype="application/octet-stream")
    del binary["data"]
    binary["data_base64"] = "AAECAwT/"
    write("event_json", "base64.json", json.dumps(binary))
    mesh = dict(order, topic="shop.orders", sequence=18446744073709551615,
                storedat="1677-09-21T00:12:43.145224192Z")
    write("event_json", "mesh.json", json.dumps(mesh))
    write("event_json", "batch.json", json.dumps([order, text, binary]))
    write("event_json", "missing_id.json",
          json.dumps({"specversion": "1.0", "source": "s", "type": "t"}))


def filter_seeds():
    seeds = {
        "exact.json": [{"exact": {"type": "order.created"}}],
        "nested.json": [
            {"prefix": {"type": "order."}},
            {"any": [{"exact": {"region": "eu1"}},
                     {"suffix": {"source": "/orders"}}]},
            {"not": {"all": [{"exact": {"subject": "x", "id": "y"}}]}}],
        "empty.json": [],
        "unknown_dialect.json": [{"sql": "type = 'x'"}],
    }
    for name, value in seeds.items():
        write("filter_json", name, json.dumps(value))


if __name__ == "__main__":
    binary_seeds()
    json_seeds()
    filter_seeds()
