// Events for the event, codec and filter tests: one with every field set,
// and random ones for round-trip tests.

#ifndef EVENTMESH_TESTS_UNIT_EVENT_SAMPLES_H_
#define EVENTMESH_TESTS_UNIT_EVENT_SAMPLES_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <random>
#include <string>

#include "eventmesh/event.h"

namespace eventmesh::testing {

// A valid event with every attribute, two extensions, data and mesh fields.
inline Event SampleEvent() {
  Event e;
  e.id = "order-1001";
  e.source = "/shop/orders";
  e.type = "order.created";
  e.subject = "customer/42";
  e.time = "2026-12-03T13:45:00.123456789Z";
  e.datacontenttype = "application/json";
  e.dataschema = "https://schemas.example.com/order.json";
  e.SetExtension("traceparent", "00-abc-def-01");
  e.SetExtension("region", "eu1");
  e.data = R"({"order":1001,"items":["book","pen"],"total":12.5})";
  e.topic = "shop.orders.eu";
  e.sequence = 77;
  e.stored_at_nanos = 1796305500123456789;
  return e;
}

// `n` random bytes (any value, NUL included) or, half of the time, none.
inline std::string RandomBytes(std::mt19937_64& rng, size_t max_len) {
  std::uniform_int_distribution<size_t> len(0, max_len);
  std::uniform_int_distribution<int> byte(0, 255);
  if (rng() % 2 == 0) return "";
  std::string s(len(rng), '\0');
  for (char& c : s) c = static_cast<char>(byte(rng));
  return s;
}

// An event whose every field holds arbitrary bytes or extreme numbers; it
// need not be valid, only encodable.
inline Event RandomEvent(std::mt19937_64& rng) {
  Event e;
  for (std::string* f :
       {&e.id, &e.source, &e.type, &e.specversion, &e.subject, &e.time,
        &e.datacontenttype, &e.dataschema, &e.topic}) {
    *f = RandomBytes(rng, 40);
  }
  const size_t extensions = rng() % 4;
  for (size_t i = 0; i < extensions; ++i) {
    e.extensions.emplace_back(RandomBytes(rng, 20), RandomBytes(rng, 40));
  }
  e.data = RandomBytes(rng, rng() % 8 == 0 ? 100000 : 300);
  const uint64_t extremes[] = {0, 1, 127, 128, UINT64_MAX, rng()};
  e.sequence = extremes[rng() % 6];
  const int64_t times[] = {0, -1, INT64_MIN, INT64_MAX,
                           static_cast<int64_t>(rng())};
  e.stored_at_nanos = times[rng() % 5];
  return e;
}

}  // namespace eventmesh::testing

namespace eventmesh {

// Lets test failures show events readably, bytes escaped.
inline void PrintTo(const Event& e, std::ostream* os) {
  const auto field = [&](const char* name, const std::string& v) {
    *os << name << "=" << ::testing::PrintToString(v) << " ";
  };
  field("id", e.id);
  field("source", e.source);
  field("type", e.type);
  field("specversion", e.specversion);
  field("subject", e.subject);
  field("time", e.time);
  field("datacontenttype", e.datacontenttype);
  field("dataschema", e.dataschema);
  for (const auto& [name, value] : e.extensions) field(name.c_str(), value);
  field("data", e.data.size() > 200 ? e.data.substr(0, 200) + "..." : e.data);
  field("topic", e.topic);
  *os << "sequence=" << e.sequence << " stored_at=" << e.stored_at_nanos;
}

}  // namespace eventmesh

#endif  // EVENTMESH_TESTS_UNIT_EVENT_SAMPLES_H_
