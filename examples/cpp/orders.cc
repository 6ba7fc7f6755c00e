// orders.cc: EventMesh from C++. Publishes three orders, consumes them in
// a durable group with explicit acks, then asks a service for a quote over
// request/reply. Usage: orders_cpp [DATA_DIR] (default ./orders-data).

#include <condition_variable>
#include <iostream>
#include <mutex>

#include "eventmesh/mesh.h"

namespace em = eventmesh;

int Fail(const em::Status& status) {
  std::cerr << status.ToString() << "\n";
  return 1;
}

int main(int argc, char** argv) {
  const char* url = argc > 1 ? argv[1] : "./orders-data";
  auto opened = em::Mesh::Open(url);
  if (!opened.ok()) return Fail(opened.status());
  std::unique_ptr<em::Mesh> mesh = std::move(opened).value();

  // A durable group: its position survives restarts; acks are explicit.
  // Handlers run on a mesh thread, so lines are printed under `mu`, whole.
  std::mutex mu;
  std::condition_variable cv;
  int acked = 0;
  em::SubscribeOptions billing_options;
  billing_options.durable = "billing";
  billing_options.manual_ack = true;
  auto billing = mesh->Subscribe(
      "orders.>",
      [&](const em::Delivery& d) {
        {
          std::lock_guard<std::mutex> lock(mu);
          std::cout << "billing got " << d.event().topic << " #"
                    << d.event().sequence << ": " << d.event().data << "\n";
        }
        if (!d.Ack().ok()) return;
        std::lock_guard<std::mutex> lock(mu);
        ++acked;
        cv.notify_all();
      },
      billing_options);
  if (!billing.ok()) return Fail(billing.status());

  for (int i = 1; i <= 3; ++i) {
    em::Event order;
    order.source = "/examples/cpp";
    order.type = "com.example.order.created";
    order.datacontenttype = "application/json";
    order.data = "{\"order\": " + std::to_string(i) + "}";
    auto seq = mesh->Publish("orders.created", std::move(order));
    if (!seq.ok()) return Fail(seq.status());
    std::lock_guard<std::mutex> lock(mu);
    std::cout << "published order " << i << " as #" << *seq << "\n";
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return acked == 3; });
  }
  (*billing)->Unsubscribe().IgnoreError();

  // Request/reply: a responder group and one request.
  em::SubscribeOptions quote_options;
  quote_options.group = "quotes";
  auto quotes = mesh->Subscribe(
      "svc.quote",
      [&](const em::Delivery& d) {
        em::Event answer;
        answer.source = "/examples/cpp/quotes";
        answer.type = "com.example.quote";
        answer.data = "42.00";
        mesh->Reply(d.event(), std::move(answer)).IgnoreError();
      },
      quote_options);
  if (!quotes.ok()) return Fail(quotes.status());
  em::Event ask;
  ask.source = "/examples/cpp";
  ask.type = "com.example.quote.request";
  auto reply =
      mesh->Request("svc.quote", std::move(ask), std::chrono::seconds(5));
  if (!reply.ok()) return Fail(reply.status());
  std::cout << "quote: " << reply->data << "\n";

  (*quotes)->Unsubscribe().IgnoreError();
  return mesh->Close().ok() ? 0 : 1;
}
