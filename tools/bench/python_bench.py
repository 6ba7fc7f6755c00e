#!/usr/bin/env python3
"""Publishes and receives N events of SIZE bytes through the eventmesh
Python package and prints the rates. Usage:

    PYTHONPATH=build/python /usr/bin/python3 tools/bench/python_bench.py \
        [--events N] [--size BYTES] [--url lmdb|mem:|DIR] [--durability none]

Publishing goes through Mesh.publish_many (the batch path: the GIL is
released while each slice is stored). Receiving replays the topic from the
earliest event, once into a callback and once through the iterator, and
also measures single publish() calls on a smaller count for comparison.
"""

import argparse
import shutil
import tempfile
import threading
import time

import eventmesh

ATTRS = dict(type="com.example.bench", source="/bench/python")
# Events per topic a mem: mesh keeps when no retention is configured.
MEM_KEEPS = 100_000


def rate(n, seconds):
    return f"{n / seconds:,.0f} events/s ({seconds:.2f} s for {n:,})"


def bench_publish_many(mesh, n, payload, durability):
    start = time.perf_counter()
    seqs = mesh.publish_many("bench.many", (payload for _ in range(n)),
                             durability=durability, **ATTRS)
    elapsed = time.perf_counter() - start
    assert len(seqs) == n and seqs[-1] == n
    print(f"publish_many        {rate(n, elapsed)}")


def bench_publish_one(mesh, n, payload, durability):
    start = time.perf_counter()
    for _ in range(n):
        mesh.publish("bench.one", payload, durability=durability, **ATTRS)
    print(f"publish (one call)  {rate(n, time.perf_counter() - start)}")


def bench_receive_callback(mesh, n):
    count = 0
    done = threading.Event()

    def on_event(event):
        nonlocal count
        count += 1
        if count == n:
            done.set()

    start = time.perf_counter()
    sub = mesh.subscribe("bench.many", on_event, start="earliest",
                         max_pending=1 << 20)
    if not done.wait(600):
        raise SystemExit(f"callback received {count} of {n}")
    print(f"receive (callback)  {rate(n, time.perf_counter() - start)}")
    sub.unsubscribe()


def bench_receive_iterator(mesh, n):
    start = time.perf_counter()
    sub = mesh.subscribe("bench.many", start="earliest", timeout=10)
    count = 0
    for _ in sub:
        count += 1
        if count == n:
            break
    assert count == n, count
    print(f"receive (iterator)  {rate(n, time.perf_counter() - start)}")
    sub.unsubscribe()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100)
    # "lmdb": a fresh temporary directory. "mem:" keeps only the newest
    # 100,000 events per topic, too few to replay a million.
    parser.add_argument("--url", default="lmdb")
    parser.add_argument("--durability", default="none")
    args = parser.parse_args()

    tmp = None
    url = args.url
    if url == "lmdb":
        tmp = tempfile.mkdtemp(prefix="eventmesh-bench-")
        url = tmp + "/data"
    payload = b"x" * args.size
    print(f"{args.events:,} events of {args.size} bytes, url={args.url}, "
          f"durability={args.durability}")
    try:
        with eventmesh.open(url) as mesh:
            bench_publish_many(mesh, args.events, payload, args.durability)
            bench_publish_one(mesh, min(args.events, 100_000), payload,
                              args.durability)
            if url == "mem:" and args.events > MEM_KEEPS:
                print(f"receive             skipped: mem: keeps only the "
                      f"newest {MEM_KEEPS:,} events per topic")
            else:
                bench_receive_callback(mesh, args.events)
                bench_receive_iterator(mesh, args.events)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
