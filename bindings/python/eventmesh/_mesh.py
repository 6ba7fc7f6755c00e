"""The Mesh and Subscription classes of the eventmesh package."""

from __future__ import annotations

import asyncio
import atexit
import datetime as _dt
import json as _json
import logging
import threading
import weakref
from typing import Any, Callable, Iterable, Iterator, Optional, Union

from . import _core
from .errors import Closed, InvalidArgument, Timeout

Event = _core.Event
Data = Union[bytes, bytearray, memoryview, str, dict, list, None]

_log = logging.getLogger("eventmesh")

# Called as hook(exception, event, subscription) when a subscription
# callback raises; None logs the exception on the "eventmesh" logger.
_callback_error_hook: Optional[Callable[[BaseException, Any, Any], None]] = None

_open_meshes: "weakref.WeakSet[Mesh]" = weakref.WeakSet()

_MESH_OPTIONS = {
    "durability", "callback_threads", "node_id", "token", "user",
    "password", "connect_timeout", "call_timeout", "batch_window",
    "dedup_window", "max_map_bytes",
}


def set_callback_error_hook(
        hook: Optional[Callable[[BaseException, Any, Any], None]]) -> None:
    """Installs `hook(exception, event, subscription)`, called on the
    delivery thread when a subscription callback raises. Delivery goes on
    either way. None restores the default: log on the "eventmesh" logger."""
    global _callback_error_hook
    _callback_error_hook = hook


def _report_callback_error(exc: BaseException, event: Any, sub: Any) -> None:
    hook = _callback_error_hook
    if hook is None:
        _log.error("subscription %r: callback raised on %r", sub.pattern,
                   event, exc_info=exc)
        return
    try:
        hook(exc, event, sub)
    except Exception:  # a broken hook must not stop delivery either
        _log.exception("the eventmesh callback error hook raised")


def _encode_data(data: Data, content_type: Optional[str]):
    """The bytes of `data` and the content type they imply."""
    if data is None:
        return b"", content_type
    if isinstance(data, (bytes, bytearray, memoryview)):
        return data, content_type
    if isinstance(data, str):
        return data.encode(), content_type or "text/plain; charset=utf-8"
    if isinstance(data, (dict, list)):
        return (_json.dumps(data, separators=(",", ":")).encode(),
                content_type or "application/json")
    raise InvalidArgument(
        f"invalid argument: data must be bytes, str, dict or list, "
        f"not {type(data).__name__}")


def _attrs(type: str, source: str, id: Optional[str], subject: Optional[str],
           datacontenttype: Optional[str], dataschema: Optional[str],
           time: Optional[str], extensions: dict) -> dict:
    return {
        "type": type, "source": source, "id": id, "subject": subject,
        "datacontenttype": datacontenttype, "dataschema": dataschema,
        "time": time, "extensions": {k: str(v) for k, v in extensions.items()},
    }


def _start_text(start: Union[str, int, _dt.datetime]) -> str:
    if isinstance(start, bool):
        raise InvalidArgument("invalid argument: start must not be a bool")
    if isinstance(start, int):
        return str(start)
    if isinstance(start, _dt.datetime):
        if start.tzinfo is None:
            start = start.replace(tzinfo=_dt.timezone.utc)
        return start.isoformat()
    return start


def make_event(data: Data = None, *, type: str, source: str,
               id: Optional[str] = None, subject: Optional[str] = None,
               datacontenttype: Optional[str] = None,
               dataschema: Optional[str] = None, time: Optional[str] = None,
               **extensions: Any) -> "_core.Event":
    """A new Event (for request() and reply()) with `data` encoded as in
    Mesh.publish()."""
    raw, ctype = _encode_data(data, datacontenttype)
    return _core.Event(type=type, source=source, data=bytes(raw),
                       id=id or "", subject=subject or "",
                       datacontenttype=ctype or "",
                       dataschema=dataschema or "", time=time or "",
                       extensions={k: str(v) for k, v in extensions.items()})


class Subscription:
    """A subscription. With a callback, events are handed to it on a mesh
    thread (holding the GIL). Without one, read events by iterating (stops
    after `timeout` seconds without an event, when given), with get(), or
    with ``async for`` under asyncio.

    Thread-safety: every method may be called from any thread; iterate one
    subscription from one thread or task at a time."""

    def __init__(self, mesh: "Mesh", pattern: str,
                 callback: Optional[Callable[[Any], None]], options: dict,
                 timeout: Optional[float]):
        self._timeout = timeout
        self._callback = callback
        self.callback_errors = 0
        self._pattern = pattern
        target = None if callback is None else self._call
        self._core = mesh._core.subscribe(pattern, target, options)

    def _call(self, event: Any) -> None:
        try:
            self._callback(event)
        except Exception as exc:  # delivery goes on; the hook hears of it
            self.callback_errors += 1
            _report_callback_error(exc, event, self)

    @property
    def pattern(self) -> str:
        return self._pattern

    @property
    def closed(self) -> bool:
        return self._core.closed

    def get(self, timeout: Optional[float] = None):
        """The next event; waits up to `timeout` seconds (None: forever).
        Raises eventmesh.Timeout when none came, eventmesh.Closed once
        unsubscribed and drained."""
        slice_ = 0.2
        remaining = timeout
        while True:
            wait = slice_ if remaining is None else min(slice_, remaining)
            event = self._core.get(wait)
            if event is not None:
                return event
            if remaining is not None:
                remaining -= wait
                if remaining <= 0:
                    raise Timeout(f"timeout: no event within {timeout} s")

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self):
        try:
            return self.get(self._timeout)
        except (Timeout, Closed):
            raise StopIteration from None

    def __aiter__(self):
        return self

    async def __anext__(self):
        loop = asyncio.get_running_loop()
        while True:
            try:
                event = self._core.get_nowait()
            except Closed:
                raise StopAsyncIteration from None
            if event is not None:
                return event
            waiter = loop.create_future()

            def wake(fut=waiter):
                if not fut.done():
                    fut.set_result(None)

            # Called once, on a mesh thread, when an event is queued.
            if self._core.set_waker(
                    lambda: loop.call_soon_threadsafe(wake)):
                if self._timeout is None:
                    await waiter
                else:
                    try:
                        await asyncio.wait_for(waiter, self._timeout)
                    except asyncio.TimeoutError:
                        raise StopAsyncIteration from None

    def unsubscribe(self) -> None:
        """Stops delivery; no callback runs after this returns (from inside
        the callback: after it returns). Safe to call again."""
        self._core.unsubscribe()

    close = unsubscribe

    def stats(self) -> dict:
        return self._core.stats()

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc) -> None:
        self.unsubscribe()

    def __repr__(self) -> str:
        return f"Subscription({self._pattern!r})"


class Mesh:
    """An open mesh. Every method is thread-safe and releases the GIL
    while it waits."""

    def __init__(self, url: str, **options: Any):
        unknown = set(options) - _MESH_OPTIONS
        if unknown:
            raise InvalidArgument(
                f"invalid argument: unknown option(s) {sorted(unknown)}")
        self.url = url
        self._core = _core.Mesh.open(url, options)
        self._subscriptions: "weakref.WeakSet[Subscription]" = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False
        _open_meshes.add(self)

    @property
    def node_id(self) -> str:
        return self._core.node_id

    def publish(self, topic: str, data: Data = None, *, type: str,
                source: str, id: Optional[str] = None,
                subject: Optional[str] = None,
                datacontenttype: Optional[str] = None,
                dataschema: Optional[str] = None, time: Optional[str] = None,
                durability: Optional[str] = None, **extensions: Any) -> int:
        """Stores one event under `topic` and returns its sequence. `data`
        may be bytes, str (sent as UTF-8 text) or a dict/list (sent as
        JSON). Extra keyword arguments are extension attributes."""
        raw, ctype = _encode_data(data, datacontenttype)
        return self._core.publish(
            topic, raw, _attrs(type, source, id, subject, ctype, dataschema,
                               time, extensions), durability)

    def publish_many(self, topic: str, items: Iterable[Any], *, type: str,
                     source: str, subject: Optional[str] = None,
                     datacontenttype: Optional[str] = None,
                     durability: Optional[str] = None,
                     **extensions: Any) -> list:
        """Publishes each item of `items` (bytes-like) as one event's data,
        in large batches with the GIL released while they are stored;
        returns the sequences. Ids are fresh per event. A batch that fails
        raises; earlier batches stay published."""
        return self._core.publish_many(
            topic, items, _attrs(type, source, None, subject, datacontenttype,
                                 None, None, extensions), durability)

    def subscribe(self, pattern: str,
                  callback: Optional[Callable[[Any], None]] = None, *,
                  group: Optional[str] = None, durable: Optional[str] = None,
                  start: Union[str, int, _dt.datetime] = "latest",
                  ack: bool = False, ack_wait: Optional[float] = None,
                  max_deliver: Optional[int] = None,
                  max_in_flight: Optional[int] = None,
                  max_pending: Optional[int] = None,
                  overflow: Optional[str] = None,
                  filter: Union[str, list, dict, None] = None,
                  timeout: Optional[float] = None) -> Subscription:
        """Subscribes to topics matching `pattern`. See Subscription for
        the callback, iterator and asyncio forms. `ack=True` (durable
        only) leaves acking to event.ack()/nack(); otherwise an event is
        acknowledged when the callback returns (or, without a callback,
        when it is queued for reading). `filter` is a CloudEvents
        Subscriptions API filter list (or its JSON text). `timeout` ends
        iteration after that many seconds without an event."""
        if isinstance(filter, (list, dict)):
            filter = _json.dumps(filter if isinstance(filter, list)
                                 else [filter])
        options = {
            "group": group, "durable": durable, "start": _start_text(start),
            "manual_ack": ack, "ack_wait": ack_wait,
            "max_deliver": max_deliver, "max_in_flight": max_in_flight,
            "max_pending": max_pending, "overflow": overflow,
            "filter": filter,
        }
        sub = Subscription(self, pattern, callback, options, timeout)
        self._subscriptions.add(sub)
        return sub

    def request(self, topic: str, data: Any = None, *, timeout: float = 5.0,
                type: str = "eventmesh.request", source: str = "python",
                **attributes: Any):
        """Sends a request (an Event, or data as in publish()) and returns
        the first reply Event; raises eventmesh.Timeout after `timeout`
        seconds."""
        if not isinstance(data, _core.Event):
            data = make_event(data, type=type, source=source, **attributes)
        return self._core.request(topic, data, timeout)

    def reply(self, request: Any, data: Any = None, *,
              type: str = "eventmesh.reply", source: str = "python",
              **attributes: Any) -> None:
        """Answers `request` (a delivered Event) with `data` or an Event."""
        if not isinstance(data, _core.Event):
            data = make_event(data, type=type, source=source, **attributes)
        self._core.reply(request, data)

    def topics(self) -> list:
        """Stored topics as dicts: topic, first_sequence, last_sequence,
        count, bytes."""
        return self._core.topics()

    def groups(self) -> list:
        """Groups and durable subscriptions as dicts."""
        return self._core.groups()

    def stats(self) -> dict:
        return self._core.stats()

    def delete_topic(self, topic: str) -> None:
        """Removes every stored event of `topic` ("$DLQ." topics too). The
        topic keeps its numbering: its next event gets the sequence after
        the last one removed. Durable groups forget the removed events;
        live subscriptions are not affected. Raises eventmesh.NotFound when
        the topic has no stored events, InvalidArgument for a bad name."""
        self._core.delete_topic(topic)

    def seek_group(self, durable: str,
                   position: Union[str, int, _dt.datetime]) -> None:
        """Moves durable group `durable` to read from `position` next:
        "earliest", "latest", a datetime (naive means UTC) or a sequence
        number of the group's topic (for a group on one topic). Its
        unacknowledged events are forgotten; its members go on from there.
        Raises eventmesh.NotFound for an unknown durable."""
        self._core.seek_group(durable, _start_text(position))

    def close(self) -> None:
        """Stops every subscription and closes the mesh. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for sub in list(self._subscriptions):
            try:
                sub.unsubscribe()
            except Closed:
                pass
        self._core.close()
        _open_meshes.discard(self)

    def __enter__(self) -> "Mesh":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"eventmesh.Mesh({self.url!r})"


def open(url: str = "./data", **options: Any) -> Mesh:
    """Opens the mesh at `url`: a directory (embedded, LMDB), "mem:" or
    tcp://host:port. Options: durability ("sync", "batch", "none"),
    callback_threads, node_id, token, user, password, connect_timeout,
    call_timeout, batch_window, dedup_window (seconds), max_map_bytes."""
    return Mesh(url, **options)


@atexit.register
def _close_all() -> None:
    # Subscriptions must stop before the interpreter goes away, or their
    # threads would wait for a GIL that no longer exists.
    for mesh in list(_open_meshes):
        try:
            mesh.close()
        except Exception:
            pass
