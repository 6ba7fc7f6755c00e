// DecodeBinary and PeekBinaryHeader on arbitrary bytes. They must refuse
// what is not an event with kInvalidArgument or kDataLoss, agree with each
// other, and what they accept must encode back to the same bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "event/binary_codec.h"
#include "event/json_text.h"
#include "eventmesh/event.h"
#include "fuzz_check.h"

namespace eventmesh {
namespace {

bool IsDecodeError(const Status& s) {
  return (s.code() == StatusCode::kInvalidArgument ||
          s.code() == StatusCode::kDataLoss) &&
         !s.message().empty();
}

void CheckHeaderAgrees(std::string_view bytes, const Event& e) {
  Result<internal::BinaryEventHeader> h = internal::PeekBinaryHeader(bytes);
  FUZZ_CHECK(h.ok(), "peek refused what decode accepted");
  FUZZ_CHECK(h->topic == e.topic && h->sequence == e.sequence &&
                 h->stored_at_nanos == e.stored_at_nanos,
             "peek and decode disagree");
}

// A valid event must survive the JSON format too.
void CheckJsonAccepts(const Event& e) {
  if (!e.Validate().ok()) return;
  Result<Event> back = DecodeJson(EncodeJson(e, true));
  FUZZ_CHECK(back.ok(),
             "JSON refused a valid event: " + back.status().ToString());
  FUZZ_CHECK(back->id == e.id || !internal::IsValidUtf8(e.id),
             "JSON changed the id");
  FUZZ_CHECK(back->sequence == e.sequence &&
                 back->stored_at_nanos == e.stored_at_nanos,
             "JSON lost the mesh fields");
}

}  // namespace
}  // namespace eventmesh

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eventmesh;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Result<Event> event = DecodeBinary(bytes);
  if (!event.ok()) {
    FUZZ_CHECK(IsDecodeError(event.status()), event.status().ToString());
    Result<internal::BinaryEventHeader> h = internal::PeekBinaryHeader(bytes);
    FUZZ_CHECK(h.ok() || IsDecodeError(h.status()), h.status().ToString());
    return 0;
  }
  CheckHeaderAgrees(bytes, *event);
  FUZZ_CHECK(EncodeBinary(*event) == bytes, "encoding is not canonical");
  FUZZ_CHECK(event->ByteSize() == size, "ByteSize is not the encoded size");
  CheckJsonAccepts(*event);
  return 0;
}
