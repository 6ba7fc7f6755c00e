// The per-event cost of the event codecs: binary and JSON encode/decode of
// an event with 100 bytes of data and the attributes a real producer sets.
// The peer is nlohmann::json's CBOR, a general-purpose binary encoding of
// the same fields, so the binary codec's figures read as a ratio to it.

#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>
#include <string>

#include "eventmesh/event.h"

namespace eventmesh {
namespace {

Event HundredByteEvent() {
  Event e;
  e.id = "6f1c2a8e-4b7d-4e21-9a53-0c8d1e2f3a4b";
  e.source = "/shop/orders";
  e.type = "order.created";
  e.subject = "customer/42";
  e.time = "2026-12-03T13:45:00.123456789Z";
  e.datacontenttype = "application/json";
  e.SetExtension("traceparent",
                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  e.data = R"({"order":1001,"customer":42,"items":["book","pen","ink"],)"
           R"("total":12.5,"currency":"EUR","note":"x"})";
  e.data.resize(100, ' ');
  e.topic = "shop.orders.eu";
  e.sequence = 123456;
  e.stored_at_nanos = 1796305500123456789;
  return e;
}

void SetCounters(benchmark::State& state, size_t bytes_per_event) {
  const double n = static_cast<double>(state.iterations());
  state.counters["events_per_s"] =
      benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["bytes_per_event"] = static_cast<double>(bytes_per_event);
}

void BM_EventBinaryEncode(benchmark::State& state) {
  const Event e = HundredByteEvent();
  std::string out;
  for (auto _ : state) {
    out.clear();
    AppendBinary(e, &out);
    benchmark::DoNotOptimize(out.data());
  }
  SetCounters(state, out.size());
}
BENCHMARK(BM_EventBinaryEncode);

void BM_EventBinaryDecode(benchmark::State& state) {
  const std::string bytes = EncodeBinary(HundredByteEvent());
  for (auto _ : state) {
    Result<Event> e = DecodeBinary(bytes);
    benchmark::DoNotOptimize(e);
  }
  SetCounters(state, bytes.size());
}
BENCHMARK(BM_EventBinaryDecode);

void BM_EventJsonEncode(benchmark::State& state) {
  const Event e = HundredByteEvent();
  std::string json;
  for (auto _ : state) {
    json = EncodeJson(e, /*include_mesh_fields=*/true);
    benchmark::DoNotOptimize(json.data());
  }
  SetCounters(state, json.size());
}
BENCHMARK(BM_EventJsonEncode);

void BM_EventJsonDecode(benchmark::State& state) {
  const std::string json = EncodeJson(HundredByteEvent(), true);
  for (auto _ : state) {
    Result<Event> e = DecodeJson(json);
    benchmark::DoNotOptimize(e);
  }
  SetCounters(state, json.size());
}
BENCHMARK(BM_EventJsonDecode);

// The peer: the same fields as a JSON object, written and read as CBOR.
nlohmann::json AsJsonObject(const Event& e) {
  nlohmann::json j = {{"id", e.id},
                      {"source", e.source},
                      {"type", e.type},
                      {"specversion", e.specversion},
                      {"subject", e.subject},
                      {"time", e.time},
                      {"datacontenttype", e.datacontenttype},
                      {"topic", e.topic},
                      {"sequence", e.sequence},
                      {"storedat", e.stored_at_nanos}};
  for (const auto& [name, value] : e.extensions) j[name] = value;
  j["data"] = nlohmann::json::binary(
      std::vector<uint8_t>(e.data.begin(), e.data.end()));
  return j;
}

std::string* CoreAttribute(Event* e, std::string_view name) {
  const std::pair<std::string_view, std::string*> core[] = {
      {"id", &e->id},
      {"source", &e->source},
      {"type", &e->type},
      {"specversion", &e->specversion},
      {"subject", &e->subject},
      {"time", &e->time},
      {"datacontenttype", &e->datacontenttype},
      {"dataschema", &e->dataschema}};
  for (const auto& [key, field] : core) {
    if (key == name) return field;
  }
  return nullptr;
}

Event FromJsonObject(const nlohmann::json& j) {
  Event e;
  for (const auto& [key, value] : j.items()) {
    if (key == "data") {
      const auto& b = value.get_binary();
      e.data.assign(b.begin(), b.end());
    } else if (key == "sequence") {
      e.sequence = value.get<uint64_t>();
    } else if (key == "storedat") {
      e.stored_at_nanos = value.get<int64_t>();
    } else if (key == "topic") {
      e.topic = value.get<std::string>();
    } else if (std::string* core = CoreAttribute(&e, key)) {
      *core = value.get<std::string>();
    } else {
      e.SetExtension(key, value.get<std::string>());
    }
  }
  return e;
}

void BM_PeerCborEncode(benchmark::State& state) {
  const Event e = HundredByteEvent();
  std::vector<uint8_t> out;
  for (auto _ : state) {
    out.clear();
    nlohmann::json::to_cbor(AsJsonObject(e), out);
    benchmark::DoNotOptimize(out.data());
  }
  SetCounters(state, out.size());
}
BENCHMARK(BM_PeerCborEncode);

void BM_PeerCborDecode(benchmark::State& state) {
  const std::vector<uint8_t> bytes =
      nlohmann::json::to_cbor(AsJsonObject(HundredByteEvent()));
  for (auto _ : state) {
    Event e = FromJsonObject(nlohmann::json::from_cbor(bytes));
    benchmark::DoNotOptimize(e);
  }
  SetCounters(state, bytes.size());
}
BENCHMARK(BM_PeerCborDecode);

}  // namespace
}  // namespace eventmesh
