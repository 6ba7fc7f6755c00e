// The bodies of the native protocol's frames (docs/protocol.md): one
// Encode/Decode pair per frame type. Decoders check the layout exactly and
// return kInvalidArgument naming the frame and the problem; views they
// return point into the decoded body. Pure functions, thread-safe.

#ifndef EVENTMESH_SRC_NET_PROTOCOL_H_
#define EVENTMESH_SRC_NET_PROTOCOL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventmesh/event.h"
#include "eventmesh/mesh.h"
#include "eventmesh/status.h"
#include "net/frame.h"

namespace eventmesh::net {

inline constexpr char kHelloMagic[] = "EMSH";

struct HelloBody {
  std::vector<uint64_t> versions;
  std::string client;
  std::string token;
  std::string user;
  std::string password;
};
void EncodeHello(const HelloBody& hello, std::string* out);
Status DecodeHello(std::string_view body, HelloBody* hello);

struct WelcomeBody {
  uint64_t version = kProtocolVersion;
  uint64_t heartbeat_ms = 5000;
  uint64_t max_frame_bytes = kDefaultMaxFrameBytes;
  std::string node_id;
  std::string server;
  std::string user;
};
void EncodeWelcome(const WelcomeBody& welcome, std::string* out);
Status DecodeWelcome(std::string_view body, WelcomeBody* welcome);

// Durability on the wire: 0 the server's default, then kSync + 1, ...
uint8_t DurabilityToWire(const std::optional<Durability>& durability);
Status DurabilityFromWire(uint8_t wire, std::optional<Durability>* out);

// An event inside a body: a varint length, then the core binary encoding.
// The length is written as a 5-byte (padded) varint so the event is
// encoded in place, once.
void AppendEventBytes(const Event& event, std::string* out);

// A varint placeholder of 5 bytes, patched later with a value < 2^35.
size_t ReservePaddedVarint(std::string* out);
void PatchPaddedVarint(size_t at, uint64_t value, std::string* out);

struct PublishBody {
  uint8_t durability = 0;
  std::string_view topic;
  std::string_view event;  // binary encoding
};
// Appends a whole publish frame.
void AppendPublishFrame(uint64_t request_id, uint8_t durability,
                        std::string_view topic, const Event& event,
                        std::string* out);
Status DecodePublish(std::string_view body, PublishBody* publish);

struct PublishBatchBody {
  uint8_t durability = 0;
  std::vector<std::pair<std::string_view, std::string_view>> events;
};
void AppendPublishBatchFrame(uint64_t request_id, uint8_t durability,
                             const std::vector<Event>& events,
                             std::string* out);
Status DecodePublishBatch(std::string_view body, PublishBatchBody* batch);

void EncodeSequences(const std::vector<uint64_t>& sequences, std::string* out);
Status DecodeSequences(std::string_view body, std::vector<uint64_t>* out);

struct SubscribeBody {
  uint64_t sub_id = 0;
  std::string pattern;
  SubscribeOptions options;  // filter decoded from `filter_json`
  std::string filter_json;
  uint64_t credit = 0;
};
void EncodeSubscribe(const SubscribeBody& subscribe, std::string* out);
// Decodes every field; the filter is parsed with Filter::FromJson.
Status DecodeSubscribe(std::string_view body, SubscribeBody* subscribe);

struct CreditBody {
  uint64_t sub_id = 0;
  uint64_t credit = 0;
};
void EncodeCredit(const CreditBody& credit, std::string* out);
Status DecodeCredit(std::string_view body, CreditBody* credit);

// A single varint body (unsubscribe, puback, count_result).
void EncodeVarintBody(uint64_t value, std::string* out);
Status DecodeVarintBody(std::string_view body, const char* what,
                        uint64_t* value);

// Deliver frames are built incrementally: BeginDeliver, one
// AppendDelivery per event, then FinishDeliver.
struct DeliverWriter {
  size_t frame_start = 0;
  size_t count_at = 0;
  uint64_t count = 0;
};
DeliverWriter BeginDeliver(uint64_t sub_id, std::string* out);
void AppendDelivery(uint64_t token, uint32_t attempt, const Event& event,
                    DeliverWriter* writer, std::string* out);
void FinishDeliver(const DeliverWriter& writer, std::string* out);

struct DeliveryItem {
  uint64_t token = 0;
  uint32_t attempt = 1;
  std::string_view event;  // binary encoding
};
struct DeliverBody {
  uint64_t sub_id = 0;
  std::vector<DeliveryItem> items;
};
Status DecodeDeliver(std::string_view body, DeliverBody* deliver);

void EncodeAck(const std::vector<uint64_t>& tokens, std::string* out);
Status DecodeAck(std::string_view body, std::vector<uint64_t>* tokens);

// (token, delay in milliseconds) pairs.
using NackList = std::vector<std::pair<uint64_t, uint64_t>>;
void EncodeNack(const NackList& nacks, std::string* out);
Status DecodeNack(std::string_view body, NackList* nacks);

struct ReadBody {
  std::string topic;
  uint64_t from_sequence = 0;
  uint64_t max_events = 0;
};
void EncodeRead(const ReadBody& read, std::string* out);
Status DecodeRead(std::string_view body, ReadBody* read);

void EncodeEvents(const std::vector<Event>& events, std::string* out);
Status DecodeEvents(std::string_view body, std::vector<Event>* events);

void EncodeTopics(const std::vector<TopicInfo>& topics, std::string* out);
Status DecodeTopics(std::string_view body, std::vector<TopicInfo>* topics);

void EncodeGroups(const std::vector<GroupInfo>& groups, std::string* out);
Status DecodeGroups(std::string_view body, std::vector<GroupInfo>* groups);

void EncodeStats(const MeshStats& stats, std::string* out);
Status DecodeStats(std::string_view body, MeshStats* stats);

// error: code and message; the status must not be OK.
void EncodeError(const Status& status, std::string* out);
// Sets `*status` to the carried error (an unknown code becomes kInternal).
Status DecodeError(std::string_view body, Status* status);

// goodbye, and the names in republish_dead and delete_topic: one byte
// string.
void EncodeStringBody(std::string_view text, std::string* out);
Status DecodeStringBody(std::string_view body, const char* what,
                        std::string* text);

// seek_group: a durable name and the position to move it to.
struct SeekGroupBody {
  std::string durable;
  StartPosition position;
};
void EncodeSeekGroup(const SeekGroupBody& seek, std::string* out);
Status DecodeSeekGroup(std::string_view body, SeekGroupBody* seek);

struct SubscriptionEndBody {
  uint64_t sub_id = 0;
  Status status;
};
void EncodeSubscriptionEnd(const SubscriptionEndBody& end, std::string* out);
Status DecodeSubscriptionEnd(std::string_view body, SubscriptionEndBody* end);

// Appends a whole error frame.
void AppendErrorFrame(uint64_t request_id, const Status& status,
                      std::string* out);

}  // namespace eventmesh::net

#endif  // EVENTMESH_SRC_NET_PROTOCOL_H_
