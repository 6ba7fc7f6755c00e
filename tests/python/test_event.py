"""eventmesh.Event: attributes as properties, JSON, and its errors."""

import pytest

import eventmesh


def test_attributes_are_properties():
    e = eventmesh.Event(type="order.created", source="/shop", data=b"\x00hi",
                        id="e-1", subject="o-7", datacontenttype="text/plain",
                        dataschema="https://example.com/s",
                        time="2026-12-03T13:00:00Z",
                        extensions={"traceid": "abc"})
    assert e.type == "order.created"
    assert e.source == "/shop"
    assert e.id == "e-1"
    assert e.specversion == "1.0"
    assert e.subject == "o-7"
    assert e.datacontenttype == "text/plain"
    assert e.dataschema == "https://example.com/s"
    assert e.time == "2026-12-03T13:00:00Z"
    assert e.data == b"\x00hi"
    assert e.extensions == {"traceid": "abc"}
    assert e.get("traceid") == "abc"
    assert e.get("subject") == "o-7"
    assert e.get("missing") is None
    # Not accepted by a mesh yet.
    assert e.topic == ""
    assert e.sequence == 0
    assert e.attempt is None
    e.validate()


def test_absent_optional_attributes_are_none():
    e = eventmesh.Event(type="t", source="/s")
    assert e.subject is None
    assert e.time is None
    assert e.datacontenttype is None
    assert e.data == b""


def test_invalid_event_names_the_rule():
    e = eventmesh.Event(type="t", id="1")
    with pytest.raises(eventmesh.InvalidArgument, match="source"):
        e.validate()


def test_bad_extension_name_is_refused():
    with pytest.raises(eventmesh.InvalidArgument):
        eventmesh.Event(type="t", source="/s", extensions={"Bad-Name": "x"})


def test_json_round_trip():
    e = eventmesh.make_event({"n": 1}, type="t", source="/s", id="j",
                             traceid="x")
    assert e.datacontenttype == "application/json"
    back = eventmesh.Event.from_json(e.to_json())
    assert back == e
    assert back.extensions == {"traceid": "x"}
    with pytest.raises(eventmesh.InvalidArgument):
        eventmesh.Event.from_json("{not json")


def test_ack_needs_a_delivered_event():
    e = eventmesh.Event(type="t", source="/s")
    with pytest.raises(eventmesh.FailedPrecondition):
        e.ack()
    with pytest.raises(eventmesh.FailedPrecondition):
        e.nack()


def test_one_exception_class_per_status_code():
    classes = [eventmesh.error_class(c) for c in range(1, 14)]
    assert len(set(classes)) == 13
    for code, cls in enumerate(classes, start=1):
        assert issubclass(cls, eventmesh.Error)
        assert cls.code == code
    assert issubclass(eventmesh.InvalidArgument, ValueError)
    assert issubclass(eventmesh.Timeout, TimeoutError)
    assert eventmesh.error_class(8) is eventmesh.Timeout
    assert eventmesh.error_class(10) is eventmesh.Closed
