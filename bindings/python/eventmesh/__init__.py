"""EventMesh for Python: publish and subscribe CloudEvents.

    import eventmesh

    with eventmesh.open("mem:") as mesh:
        sub = mesh.subscribe("orders.>", timeout=1.0)
        mesh.publish("orders.created", b"{}", type="order.created",
                     source="/shop")
        for event in sub:
            print(event.topic, event.sequence, event.data)

See Mesh.publish, Mesh.publish_many, Mesh.subscribe, Mesh.request.
"""

from . import _core
from ._mesh import (Mesh, Subscription, make_event, open,
                    set_callback_error_hook)
from .errors import (AlreadyExists, Closed, DataLoss, Error,
                     FailedPrecondition, Internal, InvalidArgument, NotFound,
                     PermissionDenied, ResourceExhausted, Timeout,
                     Unauthenticated, Unavailable, Unimplemented, error_class)

Event = _core.Event
__version__ = _core.__version__

LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR = range(5)


def set_log_handler(handler, min_level: int = LOG_INFO) -> None:
    """Sends the library's log to `handler(level, module, message)`, called
    on library threads; None turns it off (the default)."""
    _core.set_log_handler(handler, min_level)


__all__ = [
    "AlreadyExists", "Closed", "DataLoss", "Error", "Event",
    "FailedPrecondition", "Internal", "InvalidArgument", "Mesh", "NotFound",
    "PermissionDenied", "ResourceExhausted", "Subscription", "Timeout",
    "Unauthenticated", "Unavailable", "Unimplemented", "error_class",
    "make_event", "open", "set_callback_error_hook", "set_log_handler",
]
