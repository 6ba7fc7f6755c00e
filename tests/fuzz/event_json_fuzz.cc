// DecodeJson and DecodeJsonBatch on arbitrary text. What they accept must
// be valid, and must come back unchanged through the JSON and the binary
// encodings.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "eventmesh/event.h"
#include "fuzz_check.h"

namespace eventmesh {
namespace {

void CheckEvent(const Event& e) {
  FUZZ_CHECK(e.Validate().ok(),
             "decoded an invalid event: " + e.Validate().ToString());

  Result<Event> again = DecodeJson(EncodeJson(e, true));
  FUZZ_CHECK(again.ok(),
             "re-encoded JSON refused: " + again.status().ToString());
  FUZZ_CHECK(*again == e, "JSON round trip changed the event");

  Result<Event> binary = DecodeBinary(EncodeBinary(e));
  FUZZ_CHECK(binary.ok() && *binary == e, "binary round trip failed");
}

void CheckBatch(const std::vector<Event>& events) {
  std::vector<Event> plain = events;
  for (Event& e : plain) {
    CheckEvent(e);
    // The batch format has no mesh fields.
    e.topic.clear();
    e.sequence = 0;
    e.stored_at_nanos = 0;
  }
  Result<std::vector<Event>> again = DecodeJsonBatch(EncodeJsonBatch(plain));
  FUZZ_CHECK(again.ok(),
             "re-encoded batch refused: " + again.status().ToString());
  FUZZ_CHECK(*again == plain, "batch round trip changed the events");
}

}  // namespace
}  // namespace eventmesh

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eventmesh;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  Result<Event> event = DecodeJson(text);
  if (event.ok()) {
    CheckEvent(*event);
  } else {
    FUZZ_CHECK(event.status().code() == StatusCode::kInvalidArgument,
               event.status().ToString());
  }

  Result<std::vector<Event>> batch = DecodeJsonBatch(text);
  if (batch.ok()) {
    CheckBatch(*batch);
  } else {
    FUZZ_CHECK(batch.status().code() == StatusCode::kInvalidArgument,
               batch.status().ToString());
  }
  return 0;
}
