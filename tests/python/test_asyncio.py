"""Subscriptions under asyncio: `async for` with wake-ups from the mesh's
threads through loop.call_soon_threadsafe."""

import asyncio
import threading

import pytest

import eventmesh

T = dict(type="com.example.async", source="/tests/python")


def test_async_for_receives_events(mesh):
    async def main():
        sub = mesh.subscribe("aio.>")
        got = []

        def publish_later():
            for i in range(5):
                mesh.publish("aio.x", b"%d" % i, **T)

        threading.Timer(0.05, publish_later).start()
        async for event in sub:
            got.append(event.data)
            if len(got) == 5:
                break
        sub.unsubscribe()
        return got

    got = asyncio.run(asyncio.wait_for(main(), 10))
    assert got == [b"0", b"1", b"2", b"3", b"4"]


def test_async_for_ends_on_timeout(mesh):
    async def main():
        sub = mesh.subscribe("quiet", timeout=0.2)
        return [e async for e in sub]

    assert asyncio.run(asyncio.wait_for(main(), 10)) == []


def test_async_for_ends_on_unsubscribe(mesh):
    async def main():
        sub = mesh.subscribe("stop")
        loop = asyncio.get_running_loop()
        loop.call_later(0.1, sub.unsubscribe)
        return [e async for e in sub]

    assert asyncio.run(asyncio.wait_for(main(), 10)) == []


def test_loop_keeps_running_while_waiting(mesh):
    async def main():
        sub = mesh.subscribe("busy")
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        asyncio.get_running_loop().call_later(
            0.3, lambda: mesh.publish("busy", b"late", **T))
        event = await sub.__anext__()
        task.cancel()
        sub.unsubscribe()
        return event.data, ticks

    data, ticks = asyncio.run(asyncio.wait_for(main(), 10))
    assert data == b"late"
    assert ticks >= 10
