// The messages nodes exchange over their ZeroMQ links.
//
// Every message is multipart. Frame 0 is the header: format version (1),
// message type, the sender's node id and incarnation. The rest depends on
// the type:
//
//   kHello, kHeartbeat  frame 1: the sender's addresses, load, interest
//                       version and the nodes it knows (gossip)
//   kInterest           frame 1: a full interest set or a change to one;
//                       each change is an operation byte (bit 0: added,
//                       bit 1: a durable, whose DurableTerms follow the
//                       pattern and group)
//   kResync             nothing: "send me your full interest"
//   kEvents             frames 1..n: one event each, with the routes it is
//                       for (broadcast and/or group keys) and then the
//                       event in the core binary encoding (event.h)
//   kDurableEvents      frames 1..n: one delivery each of a durable
//                       consumer on the sender to its members here: the
//                       durable name, the log position (the token acks
//                       name), the attempt, then the event
//   kDurableAcks        frames 1..n: per durable name, acks and nacks of
//                       deliveries the receiver sent (by log position)
//
// Integers are LEB128 varints, strings a varint length and the bytes.
// Decoders check every length and reject trailing bytes; they never trust
// a count to reserve memory. Functions are pure and thread-safe.

#ifndef EVENTMESH_SRC_CLUSTER_WIRE_H_
#define EVENTMESH_SRC_CLUSTER_WIRE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "eventmesh/event.h"
#include "eventmesh/status.h"
#include "mesh/cluster_hook.h"

namespace eventmesh::cluster {

inline constexpr uint8_t kWireVersion = 1;

enum class MessageType : uint8_t {
  kHello = 1,
  kHeartbeat = 2,
  kInterest = 3,
  kResync = 4,
  kEvents = 5,
  kDurableEvents = 6,
  kDurableAcks = 7,
};

struct Header {
  MessageType type = MessageType::kHello;
  std::string node_id;
  uint64_t incarnation = 0;
};

// A node as gossiped: who, which process, where.
struct NodeRef {
  std::string node_id;
  uint64_t incarnation = 0;
  std::string address;  // ZeroMQ endpoint, "tcp://host:port"
};

struct Load {
  uint64_t connections = 0;
  uint64_t subscriptions = 0;
  uint64_t events_per_s = 0;
};

struct Hello {
  std::string address;         // where peers reach this node's links
  std::string client_address;  // where clients reach it (may be empty)
  Load load;
  uint64_t interest_version = 0;
  std::vector<NodeRef> known;  // gossip
};

struct InterestChange {
  bool added = true;
  Interest interest;
};

// full: `changes` (all added) replace the receiver's view, which becomes
// `version`. Otherwise the changes apply only to a view at `base`.
struct InterestUpdate {
  bool full = false;
  uint64_t base = 0;
  uint64_t version = 0;
  std::vector<InterestChange> changes;
};

struct WireEvent {
  bool broadcast = false;
  std::vector<std::string> groups;
  Event event;
};

struct DurableDelivery {
  std::string durable;
  uint64_t position = 0;
  uint32_t attempt = 1;
  Event event;
};

// An ack (nack false) or a nack with a redelivery delay.
struct DurableSettle {
  uint64_t position = 0;
  bool nack = false;
  uint64_t delay_ms = 0;
};

struct DurableAcks {
  std::string durable;
  std::vector<DurableSettle> settles;
};

struct Message {
  Header header;
  Hello hello;                              // kHello, kHeartbeat
  InterestUpdate interest;                  // kInterest
  std::vector<WireEvent> events;            // kEvents
  std::vector<DurableDelivery> deliveries;  // kDurableEvents
  std::vector<DurableAcks> acks;            // kDurableAcks
};

std::string EncodeHeader(const Header& header);
std::string EncodeHello(const Hello& hello);
std::string EncodeInterest(const InterestUpdate& update);
// The routing prefix of an event frame; the event's binary encoding
// (AppendBinary) follows it in the same frame.
void AppendEventPrefix(bool broadcast, const std::vector<std::string>& groups,
                       std::string* out);

// The prefix of a durable delivery frame; the event's binary encoding
// follows it in the same frame.
void AppendDurablePrefix(const std::string& durable, uint64_t position,
                         uint32_t attempt, std::string* out);
std::string EncodeDurableAcks(const DurableAcks& acks);

// Decodes a whole message; errors say which frame and field is wrong.
Result<Message> DecodeMessage(const std::vector<std::string_view>& frames);

}  // namespace eventmesh::cluster

#endif  // EVENTMESH_SRC_CLUSTER_WIRE_H_
