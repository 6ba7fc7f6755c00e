"""orders.py: EventMesh from Python. Publishes three orders, consumes them
in a durable group with explicit acks, then asks a service for a quote over
request/reply. Usage: python3 orders.py [DATA_DIR] (default ./orders-data).
"""

import sys

import eventmesh


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else "./orders-data"
    with eventmesh.open(url) as mesh:
        # A durable group: its position survives restarts; acks are
        # explicit. Without a callback the subscription is an iterator.
        billing = mesh.subscribe("orders.>", durable="billing", ack=True,
                                 timeout=5)
        for i in range(1, 4):
            seq = mesh.publish("orders.created", {"order": i},
                               type="com.example.order.created",
                               source="/examples/python")
            print(f"published order {i} as #{seq}")
        for n, event in enumerate(billing, start=1):
            print(f"billing got {event.topic} #{event.sequence}: "
                  f"{event.data.decode()}")
            event.ack()
            if n == 3:
                break
        billing.unsubscribe()

        # Request/reply: a responder (a callback on a mesh thread) and one
        # request.
        def quote(request):
            mesh.reply(request, b"42.00", type="com.example.quote",
                       source="/examples/python/quotes")

        with mesh.subscribe("svc.quote", quote, group="quotes"):
            answer = mesh.request("svc.quote", timeout=5,
                                  type="com.example.quote.request",
                                  source="/examples/python")
            print(f"quote: {answer.data.decode()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
