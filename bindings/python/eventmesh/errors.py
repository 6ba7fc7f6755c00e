"""Exceptions raised by eventmesh: one class per status code of the core.

Every error is an ``eventmesh.Error``; catch a subclass for one cause::

    try:
        mesh.request("svc.ping", b"x", type="ping", source="/me", timeout=1)
    except eventmesh.Timeout:
        ...

``Error.code`` is the status code (the same numbers as the C API's EM_E*).
"""

from . import _core


class Error(Exception):
    """Base class of every error eventmesh raises."""

    code = -1


class InvalidArgument(Error, ValueError):
    """The caller passed something malformed."""

    code = 1


class NotFound(Error, LookupError):
    """No such topic, group or subscription."""

    code = 2


class AlreadyExists(Error):
    """The name is taken."""

    code = 3


class PermissionDenied(Error, PermissionError):
    """Authenticated, but not allowed."""

    code = 4


class Unauthenticated(Error):
    """Credentials missing or wrong."""

    code = 5


class ResourceExhausted(Error):
    """A limit, a full queue, a full disk or map."""

    code = 6


class FailedPrecondition(Error):
    """The object is not in a state for this call."""

    code = 7


class Timeout(Error, TimeoutError):
    """The deadline passed before an answer."""

    code = 8


class Unavailable(Error, ConnectionError):
    """The peer or server cannot be reached now."""

    code = 9


class Closed(Error):
    """The mesh or subscription is closed."""

    code = 10


class DataLoss(Error):
    """Stored data is corrupt or of a foreign format."""

    code = 11


class Unimplemented(Error, NotImplementedError):
    """Not supported by this transport or engine."""

    code = 12


class Internal(Error):
    """A bug in EventMesh: please report it."""

    code = 13


_BY_CODE = [
    Error,  # 0 is OK and never raised
    InvalidArgument,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    Unauthenticated,
    ResourceExhausted,
    FailedPrecondition,
    Timeout,
    Unavailable,
    Closed,
    DataLoss,
    Unimplemented,
    Internal,
]

if len(_BY_CODE) != _core.STATUS_CODE_COUNT:
    raise ImportError("eventmesh.errors does not match the core's status codes")
_core._set_error_classes(_BY_CODE)


def error_class(code: int) -> type:
    """The exception class of status code `code`."""
    return _BY_CODE[code]
