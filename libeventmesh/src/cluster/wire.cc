#include "cluster/wire.h"

#include "event/binary_codec.h"

namespace eventmesh::cluster {
namespace {

// Bounds that keep a hostile message from costing much.
constexpr size_t kMaxString = 1 << 16;
constexpr uint64_t kMaxCount = 1 << 20;

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutString(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}

// Reads fields from one frame; the first failure sticks.
class Reader {
 public:
  Reader(std::string_view bytes, std::string what)
      : rest_(bytes), what_(std::move(what)) {}

  uint64_t Varint(const char* field) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (rest_.empty()) return Fail(field, "ends early"), 0;
      uint8_t b = static_cast<uint8_t>(rest_[0]);
      rest_.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Fail(field, "is a varint longer than 10 bytes"), 0;
  }
  uint64_t Count(const char* field) {
    uint64_t n = Varint(field);
    if (ok() && (n > kMaxCount || n > rest_.size())) {
      Fail(field, "is larger than the frame can hold");
      return 0;
    }
    return n;
  }
  std::string String(const char* field) {
    uint64_t n = Varint(field);
    if (!ok()) return {};
    if (n > kMaxString || n > rest_.size()) {
      Fail(field, "is longer than the frame");
      return {};
    }
    std::string s(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return s;
  }
  uint8_t Byte(const char* field) {
    if (rest_.empty()) return Fail(field, "ends early"), 0;
    uint8_t b = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return b;
  }
  std::string_view Rest() {
    std::string_view r = rest_;
    rest_ = {};
    return r;
  }
  void ExpectEnd() {
    if (ok() && !rest_.empty()) Fail("the frame", "has trailing bytes");
  }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

 private:
  void Fail(const char* field, const char* problem) {
    if (!ok()) return;
    status_ = InvalidArgument("cluster message: " + what_ + ": " + field + " " +
                              problem);
  }

  std::string_view rest_;
  std::string what_;
  Status status_;
};

Status DecodeHello(std::string_view frame, Hello* hello) {
  Reader r(frame, "hello");
  hello->address = r.String("address");
  hello->client_address = r.String("client address");
  hello->load.connections = r.Varint("connections");
  hello->load.subscriptions = r.Varint("subscriptions");
  hello->load.events_per_s = r.Varint("events/s");
  hello->interest_version = r.Varint("interest version");
  uint64_t n = r.Count("node count");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    NodeRef ref;
    ref.node_id = r.String("node id");
    ref.incarnation = r.Varint("incarnation");
    ref.address = r.String("node address");
    hello->known.push_back(std::move(ref));
  }
  r.ExpectEnd();
  return r.status();
}

Status DecodeInterest(std::string_view frame, InterestUpdate* update) {
  Reader r(frame, "interest");
  uint8_t flags = r.Byte("flags");
  if (r.ok() && flags > 1) {
    return InvalidArgument("cluster message: interest: unknown flags " +
                           std::to_string(flags));
  }
  update->full = flags == 1;
  update->base = r.Varint("base version");
  update->version = r.Varint("version");
  uint64_t n = r.Count("change count");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    InterestChange change;
    uint8_t op = r.Byte("operation");
    if (r.ok() && op > 3) {
      return InvalidArgument("cluster message: interest: unknown operation " +
                             std::to_string(op));
    }
    change.added = (op & 1) != 0;
    change.interest.pattern = r.String("pattern");
    change.interest.group = r.String("group");
    if (op & 2) {
      DurableTerms& t = change.interest.terms;
      change.interest.durable = true;
      t.ack_wait_ms = r.Varint("ack wait");
      t.max_deliver = r.Varint("max deliver");
      t.max_in_flight = r.Varint("max in flight");
      t.start_kind = r.Byte("start kind");
      t.start_value = r.Varint("start value");
      if (r.ok() && t.start_kind > 3) {
        return InvalidArgument(
            "cluster message: interest: unknown start kind " +
            std::to_string(t.start_kind));
      }
    }
    update->changes.push_back(std::move(change));
  }
  r.ExpectEnd();
  return r.status();
}

// `out` (and below, `out` of DecodeDurableEvent) is default-constructed:
// its event is decoded in place.
Status DecodeEvent(std::string_view frame, WireEvent* out) {
  Reader r(frame, "event");
  uint8_t flags = r.Byte("flags");
  out->broadcast = (flags & 1) != 0;
  uint64_t n = r.Count("group count");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    out->groups.push_back(r.String("group"));
  }
  if (!r.ok()) return r.status();
  Status decoded = internal::DecodeBinaryInto(r.Rest(), &out->event);
  if (!decoded.ok()) return decoded.WithContext("cluster message: event");
  return Status::Ok();
}

Status DecodeDurableEvent(std::string_view frame, DurableDelivery* out) {
  Reader r(frame, "durable event");
  out->durable = r.String("durable name");
  out->position = r.Varint("position");
  uint64_t attempt = r.Varint("attempt");
  if (r.ok() && (attempt == 0 || attempt > UINT32_MAX)) {
    return InvalidArgument("cluster message: durable event: attempt " +
                           std::to_string(attempt) + " is out of range");
  }
  out->attempt = static_cast<uint32_t>(attempt);
  if (!r.ok()) return r.status();
  Status decoded = internal::DecodeBinaryInto(r.Rest(), &out->event);
  if (!decoded.ok()) {
    return decoded.WithContext("cluster message: durable event");
  }
  return Status::Ok();
}

Status DecodeDurableAcks(std::string_view frame, DurableAcks* out) {
  Reader r(frame, "durable acks");
  out->durable = r.String("durable name");
  uint64_t n = r.Count("ack count");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    DurableSettle settle;
    uint8_t op = r.Byte("operation");
    if (r.ok() && op > 1) {
      return InvalidArgument(
          "cluster message: durable acks: unknown "
          "operation " +
          std::to_string(op));
    }
    settle.nack = op == 1;
    settle.position = r.Varint("position");
    settle.delay_ms = r.Varint("delay");
    out->settles.push_back(settle);
  }
  r.ExpectEnd();
  return r.status();
}

}  // namespace

std::string EncodeHeader(const Header& header) {
  std::string out;
  out.push_back(static_cast<char>(kWireVersion));
  out.push_back(static_cast<char>(header.type));
  PutString(header.node_id, &out);
  PutVarint(header.incarnation, &out);
  return out;
}

std::string EncodeHello(const Hello& hello) {
  std::string out;
  PutString(hello.address, &out);
  PutString(hello.client_address, &out);
  PutVarint(hello.load.connections, &out);
  PutVarint(hello.load.subscriptions, &out);
  PutVarint(hello.load.events_per_s, &out);
  PutVarint(hello.interest_version, &out);
  PutVarint(hello.known.size(), &out);
  for (const NodeRef& ref : hello.known) {
    PutString(ref.node_id, &out);
    PutVarint(ref.incarnation, &out);
    PutString(ref.address, &out);
  }
  return out;
}

std::string EncodeInterest(const InterestUpdate& update) {
  std::string out;
  out.push_back(update.full ? 1 : 0);
  PutVarint(update.base, &out);
  PutVarint(update.version, &out);
  PutVarint(update.changes.size(), &out);
  for (const InterestChange& c : update.changes) {
    out.push_back(
        static_cast<char>((c.added ? 1 : 0) | (c.interest.durable ? 2 : 0)));
    PutString(c.interest.pattern, &out);
    PutString(c.interest.group, &out);
    if (!c.interest.durable) continue;
    const DurableTerms& t = c.interest.terms;
    PutVarint(t.ack_wait_ms, &out);
    PutVarint(t.max_deliver, &out);
    PutVarint(t.max_in_flight, &out);
    out.push_back(static_cast<char>(t.start_kind));
    PutVarint(t.start_value, &out);
  }
  return out;
}

void AppendDurablePrefix(const std::string& durable, uint64_t position,
                         uint32_t attempt, std::string* out) {
  PutString(durable, out);
  PutVarint(position, out);
  PutVarint(attempt, out);
}

std::string EncodeDurableAcks(const DurableAcks& acks) {
  std::string out;
  PutString(acks.durable, &out);
  PutVarint(acks.settles.size(), &out);
  for (const DurableSettle& s : acks.settles) {
    out.push_back(s.nack ? 1 : 0);
    PutVarint(s.position, &out);
    PutVarint(s.delay_ms, &out);
  }
  return out;
}

void AppendEventPrefix(bool broadcast, const std::vector<std::string>& groups,
                       std::string* out) {
  out->push_back(broadcast ? 1 : 0);
  PutVarint(groups.size(), out);
  for (const std::string& g : groups) PutString(g, out);
}

Result<Message> DecodeMessage(const std::vector<std::string_view>& frames) {
  if (frames.empty()) return InvalidArgument("cluster message: no frames");
  Message m;
  Reader r(frames[0], "header");
  uint8_t version = r.Byte("version");
  uint8_t type = r.Byte("type");
  m.header.node_id = r.String("node id");
  m.header.incarnation = r.Varint("incarnation");
  r.ExpectEnd();
  EM_RETURN_IF_ERROR(r.status());
  if (version != kWireVersion) {
    return InvalidArgument("cluster message: version " +
                           std::to_string(version) + " is not " +
                           std::to_string(kWireVersion) +
                           "; run the same EventMesh release on every node");
  }
  if (m.header.node_id.empty()) {
    return InvalidArgument("cluster message: the sender's node id is empty");
  }
  auto expect_frames = [&](size_t n) -> Status {
    if (frames.size() == n) return Status::Ok();
    return InvalidArgument("cluster message: type " + std::to_string(type) +
                           " has " + std::to_string(frames.size()) +
                           " frames, not " + std::to_string(n));
  };
  m.header.type = static_cast<MessageType>(type);
  switch (m.header.type) {
    case MessageType::kHello:
    case MessageType::kHeartbeat:
      EM_RETURN_IF_ERROR(expect_frames(2));
      EM_RETURN_IF_ERROR(DecodeHello(frames[1], &m.hello));
      return m;
    case MessageType::kInterest:
      EM_RETURN_IF_ERROR(expect_frames(2));
      EM_RETURN_IF_ERROR(DecodeInterest(frames[1], &m.interest));
      return m;
    case MessageType::kResync:
      EM_RETURN_IF_ERROR(expect_frames(1));
      return m;
    case MessageType::kEvents:
      // Each decoded in its place: an event is too big to move cheaply.
      m.events.reserve(frames.size() - 1);
      for (size_t i = 1; i < frames.size(); ++i) {
        EM_RETURN_IF_ERROR(DecodeEvent(frames[i], &m.events.emplace_back()));
      }
      return m;
    case MessageType::kDurableEvents:
      m.deliveries.reserve(frames.size() - 1);
      for (size_t i = 1; i < frames.size(); ++i) {
        EM_RETURN_IF_ERROR(
            DecodeDurableEvent(frames[i], &m.deliveries.emplace_back()));
      }
      return m;
    case MessageType::kDurableAcks:
      for (size_t i = 1; i < frames.size(); ++i) {
        DurableAcks a;
        EM_RETURN_IF_ERROR(DecodeDurableAcks(frames[i], &a));
        m.acks.push_back(std::move(a));
      }
      return m;
  }
  return InvalidArgument("cluster message: unknown type " +
                         std::to_string(type));
}

}  // namespace eventmesh::cluster
