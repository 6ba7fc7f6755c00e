// The cluster link message decoder on arbitrary bytes. The input is split
// into frames: each frame is a 2-byte little-endian length and that many
// bytes; what is left is the last frame. Properties: errors are
// kInvalidArgument or kDataLoss with a message, and hello, interest and
// durable ack bodies that decode encode back to the same values.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/wire.h"
#include "fuzz_check.h"

namespace eventmesh::cluster {
namespace {

std::vector<std::string_view> SplitFrames(std::string_view in) {
  std::vector<std::string_view> frames;
  while (in.size() >= 2) {
    size_t n = static_cast<uint8_t>(in[0]) |
               (static_cast<size_t>(static_cast<uint8_t>(in[1])) << 8);
    in.remove_prefix(2);
    if (n > in.size()) break;
    frames.push_back(in.substr(0, n));
    in.remove_prefix(n);
  }
  if (!in.empty()) frames.push_back(in);
  return frames;
}

void CheckRoundTrip(const Message& m) {
  std::vector<std::string> frames{EncodeHeader(m.header)};
  if (m.header.type == MessageType::kHello ||
      m.header.type == MessageType::kHeartbeat) {
    frames.push_back(EncodeHello(m.hello));
  } else if (m.header.type == MessageType::kInterest) {
    frames.push_back(EncodeInterest(m.interest));
  } else if (m.header.type == MessageType::kDurableAcks) {
    for (const DurableAcks& a : m.acks) frames.push_back(EncodeDurableAcks(a));
  } else {
    return;
  }
  std::vector<std::string_view> views(frames.begin(), frames.end());
  Result<Message> back = DecodeMessage(views);
  FUZZ_CHECK(back.ok(), "a decoded message did not decode after encoding");
  FUZZ_CHECK(back->header.node_id == m.header.node_id &&
                 back->header.incarnation == m.header.incarnation,
             "the header changed on a round trip");
  FUZZ_CHECK(back->hello.address == m.hello.address &&
                 back->hello.known.size() == m.hello.known.size() &&
                 back->hello.interest_version == m.hello.interest_version,
             "hello changed on a round trip");
  FUZZ_CHECK(back->interest.full == m.interest.full &&
                 back->interest.version == m.interest.version &&
                 back->interest.changes.size() == m.interest.changes.size(),
             "interest changed on a round trip");
  for (size_t i = 0; i < m.interest.changes.size(); ++i) {
    const Interest& a = m.interest.changes[i].interest;
    const Interest& b = back->interest.changes[i].interest;
    FUZZ_CHECK(a == b && a.terms.ack_wait_ms == b.terms.ack_wait_ms &&
                   a.terms.max_in_flight == b.terms.max_in_flight &&
                   a.terms.start_value == b.terms.start_value,
               "an interest change changed on a round trip");
  }
  FUZZ_CHECK(back->acks.size() == m.acks.size(),
             "durable acks changed on a round trip");
  for (size_t i = 0; i < m.acks.size(); ++i) {
    FUZZ_CHECK(back->acks[i].durable == m.acks[i].durable &&
                   back->acks[i].settles.size() == m.acks[i].settles.size(),
               "durable acks changed on a round trip");
  }
}

}  // namespace
}  // namespace eventmesh::cluster

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eventmesh;
  using namespace eventmesh::cluster;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Result<Message> m = DecodeMessage(SplitFrames(in));
  if (!m.ok()) {
    const Status& s = m.status();
    FUZZ_CHECK((s.code() == StatusCode::kInvalidArgument ||
                s.code() == StatusCode::kDataLoss) &&
                   !s.message().empty(),
               "unexpected error: " + s.ToString());
    return 0;
  }
  CheckRoundTrip(*m);
  return 0;
}
