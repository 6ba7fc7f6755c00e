// Filter::FromJson on arbitrary text. What it accepts must write back as
// JSON that reads to the same filter, and matching must not crash.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "eventmesh/filter.h"
#include "fuzz_check.h"

namespace eventmesh {
namespace {

const Event& SampleEvent() {
  static const Event e = [] {
    Event s;
    s.id = "order-1";
    s.source = "/shop";
    s.type = "order.created";
    s.subject = "customer/42";
    s.SetExtension("region", "eu1");
    return s;
  }();
  return e;
}

}  // namespace
}  // namespace eventmesh

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eventmesh;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<Filter> filter = Filter::FromJson(text);
  if (!filter.ok()) {
    FUZZ_CHECK(filter.status().code() == StatusCode::kInvalidArgument,
               filter.status().ToString());
    return 0;
  }
  const std::string json = filter->ToJson();
  Result<Filter> again = Filter::FromJson(json);
  FUZZ_CHECK(again.ok(), "ToJson wrote what FromJson refuses: " + json);
  FUZZ_CHECK(again->ToJson() == json, "filter JSON is not stable: " + json);
  FUZZ_CHECK(again->Matches(SampleEvent()) == filter->Matches(SampleEvent()),
             "round trip changed what the filter matches");
  (void)filter->Matches(Event());
  return 0;
}
