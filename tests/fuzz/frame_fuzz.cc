// The native protocol's frame decoder and frame bodies on arbitrary bytes.
// The first input byte picks how the stream is split into reads, so
// incremental decoding is exercised; every frame decoded is handed to its
// body decoder. Properties: errors have the documented codes, the decoder
// never returns more than it was given, and bodies that decode encode back
// to bodies that decode to the same values.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "net/frame.h"
#include "net/protocol.h"

namespace eventmesh::net {
namespace {

void CheckBodyError(const Status& s) {
  FUZZ_CHECK(
      s.ok() ||
          (s.code() == StatusCode::kInvalidArgument && !s.message().empty()) ||
          s.code() == StatusCode::kDataLoss,
      "a body decoder failed with an unexpected code: " + s.ToString());
}

void CheckHello(std::string_view body) {
  HelloBody hello;
  Status s = DecodeHello(body, &hello);
  CheckBodyError(s);
  if (!s.ok()) return;
  std::string again;
  EncodeHello(hello, &again);
  HelloBody back;
  FUZZ_CHECK(DecodeHello(again, &back).ok(), "hello did not round-trip");
  FUZZ_CHECK(back.versions == hello.versions && back.user == hello.user &&
                 back.password == hello.password && back.token == hello.token,
             "hello changed on a round trip");
}

void CheckSubscribe(std::string_view body) {
  SubscribeBody sub;
  Status s = DecodeSubscribe(body, &sub);
  CheckBodyError(s);
  if (!s.ok()) return;
  std::string again;
  EncodeSubscribe(sub, &again);
  SubscribeBody back;
  Status s2 = DecodeSubscribe(again, &back);
  FUZZ_CHECK(s2.ok(), "subscribe did not round-trip: " + s2.ToString());
  FUZZ_CHECK(back.sub_id == sub.sub_id && back.pattern == sub.pattern &&
                 back.options.durable == sub.options.durable &&
                 back.options.max_deliver == sub.options.max_deliver &&
                 back.credit == sub.credit,
             "subscribe changed on a round trip");
}

void CheckSeekGroup(std::string_view body) {
  SeekGroupBody seek;
  Status s = DecodeSeekGroup(body, &seek);
  CheckBodyError(s);
  if (!s.ok()) return;
  std::string again;
  EncodeSeekGroup(seek, &again);
  SeekGroupBody back;
  FUZZ_CHECK(DecodeSeekGroup(again, &back).ok(),
             "seek_group did not round-trip");
  FUZZ_CHECK(back.durable == seek.durable &&
                 back.position.kind == seek.position.kind &&
                 back.position.sequence == seek.position.sequence &&
                 back.position.unix_nanos == seek.position.unix_nanos,
             "seek_group changed on a round trip");
}

void CheckDeliver(std::string_view body) {
  DeliverBody deliver;
  Status s = DecodeDeliver(body, &deliver);
  CheckBodyError(s);
  if (!s.ok()) return;
  for (const DeliveryItem& item : deliver.items) {
    FUZZ_CHECK(
        item.event.data() >= body.data() &&
            item.event.data() + item.event.size() <= body.data() + body.size(),
        "a delivery's event points outside the body");
    CheckBodyError(DecodeBinary(item.event).status());
  }
}

void CheckBody(const Frame& frame) {
  std::string_view body = frame.body;
  switch (frame.type) {
    case FrameType::kHello:
      return CheckHello(body);
    case FrameType::kWelcome: {
      WelcomeBody w;
      return CheckBodyError(DecodeWelcome(body, &w));
    }
    case FrameType::kPublish: {
      PublishBody p;
      Status s = DecodePublish(body, &p);
      CheckBodyError(s);
      if (s.ok()) CheckBodyError(DecodeBinary(p.event).status());
      return;
    }
    case FrameType::kPublishBatch: {
      PublishBatchBody b;
      return CheckBodyError(DecodePublishBatch(body, &b));
    }
    case FrameType::kSubscribe:
      return CheckSubscribe(body);
    case FrameType::kCredit: {
      CreditBody c;
      return CheckBodyError(DecodeCredit(body, &c));
    }
    case FrameType::kDeliver:
      return CheckDeliver(body);
    case FrameType::kAck: {
      std::vector<uint64_t> tokens;
      return CheckBodyError(DecodeAck(body, &tokens));
    }
    case FrameType::kNack: {
      NackList nacks;
      return CheckBodyError(DecodeNack(body, &nacks));
    }
    case FrameType::kRead: {
      ReadBody r;
      return CheckBodyError(DecodeRead(body, &r));
    }
    case FrameType::kReadResult: {
      std::vector<Event> events;
      return CheckBodyError(DecodeEvents(body, &events));
    }
    case FrameType::kTopicsResult: {
      std::vector<TopicInfo> topics;
      return CheckBodyError(DecodeTopics(body, &topics));
    }
    case FrameType::kGroupsResult: {
      std::vector<GroupInfo> groups;
      return CheckBodyError(DecodeGroups(body, &groups));
    }
    case FrameType::kStatsResult: {
      MeshStats stats;
      return CheckBodyError(DecodeStats(body, &stats));
    }
    case FrameType::kError: {
      Status carried;
      Status s = DecodeError(body, &carried);
      CheckBodyError(s);
      if (s.ok()) FUZZ_CHECK(!carried.ok(), "an error frame decoded as OK");
      return;
    }
    case FrameType::kPubAckBatch: {
      std::vector<uint64_t> sequences;
      return CheckBodyError(DecodeSequences(body, &sequences));
    }
    case FrameType::kRepublishDead:
    case FrameType::kDeleteTopic: {
      std::string name;
      return CheckBodyError(DecodeStringBody(body, "name", &name));
    }
    case FrameType::kSeekGroup:
      return CheckSeekGroup(body);
    case FrameType::kSubscriptionEnd: {
      SubscriptionEndBody end;
      return CheckBodyError(DecodeSubscriptionEnd(body, &end));
    }
    default: {
      uint64_t value = 0;
      return CheckBodyError(DecodeVarintBody(body, "varint", &value));
    }
  }
}

}  // namespace
}  // namespace eventmesh::net

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eventmesh::net;
  if (size == 0) return 0;
  size_t chunk = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  FrameDecoder decoder(1 << 16);
  size_t fed = 0, returned = 0;
  while (fed < input.size()) {
    std::string_view piece = input.substr(fed, chunk);
    decoder.Append(piece);
    fed += piece.size();
    Frame frame;
    for (;;) {
      eventmesh::Result<bool> next = decoder.Next(&frame);
      if (!next.ok()) {
        auto code = next.status().code();
        FUZZ_CHECK(code == eventmesh::StatusCode::kInvalidArgument ||
                       code == eventmesh::StatusCode::kResourceExhausted,
                   "the frame decoder failed with " + next.status().ToString());
        return 0;
      }
      if (!*next) break;
      returned += kFrameHeaderSize + frame.body.size();
      FUZZ_CHECK(returned <= fed, "the decoder returned bytes it never got");
      CheckBody(frame);
    }
  }
  FUZZ_CHECK(returned + decoder.buffered() == fed,
             "the decoder lost or invented bytes");
  return 0;
}
