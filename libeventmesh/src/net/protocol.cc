#include "net/protocol.h"

#include <array>
#include <chrono>
#include <cstring>

namespace eventmesh::net {
namespace {

constexpr size_t kPaddedVarintSize = 5;

// Every encoded element takes at least one byte, so a count larger than
// the bytes left is malformed (and must not size a vector).
bool ReadCount(BodyReader* reader, uint64_t* count) {
  return reader->Count(reader->remaining(), count);
}

bool ReadMillis(BodyReader* reader, std::chrono::milliseconds* out) {
  uint64_t ms = 0;
  if (!reader->Varint(&ms)) return false;
  if (ms > (uint64_t{1} << 40)) return false;
  *out = std::chrono::milliseconds(static_cast<int64_t>(ms));
  return true;
}

}  // namespace

// --- hello / welcome ---------------------------------------------------------

void EncodeHello(const HelloBody& hello, std::string* out) {
  BodyWriter w(out);
  w.Raw(std::string_view(kHelloMagic, 4));
  w.Varint(hello.versions.size());
  for (uint64_t v : hello.versions) w.Varint(v);
  w.Bytes(hello.client);
  w.Bytes(hello.token);
  w.Bytes(hello.user);
  w.Bytes(hello.password);
}

Status DecodeHello(std::string_view body, HelloBody* hello) {
  BodyReader r(body, "hello");
  std::string_view magic;
  if (r.Raw(4, &magic) && magic != std::string_view(kHelloMagic, 4)) {
    return r.Fail("bad magic (not an EventMesh client?)");
  }
  uint64_t n = 0;
  if (ReadCount(&r, &n)) {
    hello->versions.resize(n);
    for (uint64_t& v : hello->versions) r.Varint(&v);
  }
  r.Bytes(&hello->client);
  r.Bytes(&hello->token);
  r.Bytes(&hello->user);
  r.Bytes(&hello->password);
  return r.Finish();
}

void EncodeWelcome(const WelcomeBody& welcome, std::string* out) {
  BodyWriter w(out);
  w.Varint(welcome.version);
  w.Varint(welcome.heartbeat_ms);
  w.Varint(welcome.max_frame_bytes);
  w.Bytes(welcome.node_id);
  w.Bytes(welcome.server);
  w.Bytes(welcome.user);
}

Status DecodeWelcome(std::string_view body, WelcomeBody* welcome) {
  BodyReader r(body, "welcome");
  r.Varint(&welcome->version);
  r.Varint(&welcome->heartbeat_ms);
  r.Varint(&welcome->max_frame_bytes);
  r.Bytes(&welcome->node_id);
  r.Bytes(&welcome->server);
  r.Bytes(&welcome->user);
  return r.Finish();
}

// --- events and publishes ----------------------------------------------------

uint8_t DurabilityToWire(const std::optional<Durability>& durability) {
  if (!durability) return 0;
  return static_cast<uint8_t>(static_cast<int>(*durability) + 1);
}

Status DurabilityFromWire(uint8_t wire, std::optional<Durability>* out) {
  if (wire > 3) {
    return InvalidArgument("unknown durability " + std::to_string(wire) +
                           " (0 default, 1 sync, 2 batch, 3 none)");
  }
  if (wire == 0) {
    out->reset();
  } else {
    *out = static_cast<Durability>(wire - 1);
  }
  return Status::Ok();
}

size_t ReservePaddedVarint(std::string* out) {
  size_t at = out->size();
  out->append(kPaddedVarintSize, '\0');
  return at;
}

void PatchPaddedVarint(size_t at, uint64_t value, std::string* out) {
  char* p = out->data() + at;
  for (size_t i = 0; i < kPaddedVarintSize; ++i) {
    uint8_t byte = value & 0x7f;
    value >>= 7;
    if (i + 1 < kPaddedVarintSize) byte |= 0x80;
    p[i] = static_cast<char>(byte);
  }
}

void AppendEventBytes(const Event& event, std::string* out) {
  size_t at = ReservePaddedVarint(out);
  AppendBinary(event, out);
  PatchPaddedVarint(at, out->size() - at - kPaddedVarintSize, out);
}

void AppendPublishFrame(uint64_t request_id, uint8_t durability,
                        std::string_view topic, const Event& event,
                        std::string* out) {
  size_t start = BeginFrame(FrameType::kPublish, request_id, out);
  BodyWriter w(out);
  w.U8(durability);
  w.Bytes(topic);
  AppendEventBytes(event, out);
  FinishFrame(start, out);
}

Status DecodePublish(std::string_view body, PublishBody* publish) {
  BodyReader r(body, "publish");
  r.U8(&publish->durability);
  r.Bytes(&publish->topic);
  r.Bytes(&publish->event);
  return r.Finish();
}

void AppendPublishBatchFrame(uint64_t request_id, uint8_t durability,
                             const std::vector<Event>& events,
                             std::string* out) {
  size_t start = BeginFrame(FrameType::kPublishBatch, request_id, out);
  BodyWriter w(out);
  w.U8(durability);
  w.Varint(events.size());
  for (const Event& event : events) {
    w.Bytes(event.topic);
    AppendEventBytes(event, out);
  }
  FinishFrame(start, out);
}

Status DecodePublishBatch(std::string_view body, PublishBatchBody* batch) {
  BodyReader r(body, "publish_batch");
  r.U8(&batch->durability);
  uint64_t n = 0;
  if (ReadCount(&r, &n)) {
    batch->events.resize(n);
    for (auto& [topic, event] : batch->events) {
      r.Bytes(&topic);
      r.Bytes(&event);
    }
  }
  return r.Finish();
}

void EncodeSequences(const std::vector<uint64_t>& sequences, std::string* out) {
  BodyWriter w(out);
  w.Varint(sequences.size());
  for (uint64_t s : sequences) w.Varint(s);
}

Status DecodeSequences(std::string_view body, std::vector<uint64_t>* out) {
  BodyReader r(body, "puback_batch");
  uint64_t n = 0;
  if (ReadCount(&r, &n)) {
    out->resize(n);
    for (uint64_t& s : *out) r.Varint(&s);
  }
  return r.Finish();
}

// --- subscriptions -----------------------------------------------------------

void EncodeSubscribe(const SubscribeBody& s, std::string* out) {
  const SubscribeOptions& o = s.options;
  BodyWriter w(out);
  w.Varint(s.sub_id);
  w.Bytes(s.pattern);
  w.Bytes(o.group);
  w.Bytes(o.durable);
  w.U8(static_cast<uint8_t>(o.start.kind));
  w.Varint(o.start.sequence);
  w.Svarint(o.start.unix_nanos);
  w.U8(o.manual_ack ? 1 : 0);
  w.Varint(static_cast<uint64_t>(o.ack_wait.count()));
  w.Svarint(o.max_deliver);
  w.Varint(o.max_in_flight);
  w.Varint(o.max_pending);
  w.U8(o.overflow == OverflowPolicy::kDrop ? 1 : 0);
  w.Varint(static_cast<uint64_t>(o.block_timeout.count()));
  w.Bytes(o.filter.MatchesEverything() ? std::string() : o.filter.ToJson());
  w.Varint(s.credit);
}

Status DecodeSubscribe(std::string_view body, SubscribeBody* s) {
  SubscribeOptions& o = s->options;
  BodyReader r(body, "subscribe");
  uint8_t start_kind = 0, manual_ack = 0, overflow = 0;
  int64_t max_deliver = 0;
  uint64_t max_in_flight = 0, max_pending = 0;
  r.Varint(&s->sub_id);
  r.Bytes(&s->pattern);
  r.Bytes(&o.group);
  r.Bytes(&o.durable);
  r.U8(&start_kind);
  r.Varint(&o.start.sequence);
  r.Svarint(&o.start.unix_nanos);
  r.U8(&manual_ack);
  if (r.ok() && !ReadMillis(&r, &o.ack_wait)) return r.Fail("bad ack_wait");
  r.Svarint(&max_deliver);
  r.Varint(&max_in_flight);
  r.Varint(&max_pending);
  r.U8(&overflow);
  if (r.ok() && !ReadMillis(&r, &o.block_timeout)) {
    return r.Fail("bad block_timeout");
  }
  r.Bytes(&s->filter_json);
  r.Varint(&s->credit);
  EM_RETURN_IF_ERROR(r.Finish());

  if (start_kind > 3) return r.Fail("unknown start kind");
  if (manual_ack > 1 || overflow > 1) return r.Fail("flag byte not 0 or 1");
  if (max_deliver < 0 || max_deliver > (1 << 30)) {
    return r.Fail("max_deliver out of range");
  }
  o.start.kind = static_cast<StartPosition::Kind>(start_kind);
  o.manual_ack = manual_ack == 1;
  o.max_deliver = static_cast<int>(max_deliver);
  o.max_in_flight = static_cast<size_t>(max_in_flight);
  o.max_pending = static_cast<size_t>(max_pending);
  o.overflow = overflow == 1 ? OverflowPolicy::kDrop : OverflowPolicy::kBlock;
  o.filter = Filter();
  if (!s->filter_json.empty()) {
    EM_ASSIGN_OR_RETURN(o.filter, Filter::FromJson(s->filter_json));
  }
  return Status::Ok();
}

void EncodeCredit(const CreditBody& credit, std::string* out) {
  BodyWriter w(out);
  w.Varint(credit.sub_id);
  w.Varint(credit.credit);
}

Status DecodeCredit(std::string_view body, CreditBody* credit) {
  BodyReader r(body, "credit");
  r.Varint(&credit->sub_id);
  r.Varint(&credit->credit);
  return r.Finish();
}

void EncodeVarintBody(uint64_t value, std::string* out) {
  BodyWriter(out).Varint(value);
}

Status DecodeVarintBody(std::string_view body, const char* what,
                        uint64_t* value) {
  BodyReader r(body, what);
  r.Varint(value);
  return r.Finish();
}

// --- deliveries and acks -----------------------------------------------------

DeliverWriter BeginDeliver(uint64_t sub_id, std::string* out) {
  DeliverWriter writer;
  writer.frame_start = BeginFrame(FrameType::kDeliver, 0, out);
  BodyWriter(out).Varint(sub_id);
  writer.count_at = ReservePaddedVarint(out);
  return writer;
}

void AppendDelivery(uint64_t token, uint32_t attempt, const Event& event,
                    DeliverWriter* writer, std::string* out) {
  BodyWriter w(out);
  w.Varint(token);
  w.Varint(attempt);
  AppendEventBytes(event, out);
  ++writer->count;
}

void FinishDeliver(const DeliverWriter& writer, std::string* out) {
  PatchPaddedVarint(writer.count_at, writer.count, out);
  FinishFrame(writer.frame_start, out);
}

Status DecodeDeliver(std::string_view body, DeliverBody* deliver) {
  BodyReader r(body, "deliver");
  r.Varint(&deliver->sub_id);
  uint64_t n = 0;
  if (ReadCount(&r, &n)) {
    deliver->items.resize(n);
    for (DeliveryItem& item : deliver->items) {
      uint64_t attempt = 0;
      r.Varint(&item.token);
      r.Varint(&attempt);
      r.Bytes(&item.event);
      if (attempt > UINT32_MAX) return r.Fail("attempt out of range");
      item.attempt = static_cast<uint32_t>(attempt);
    }
  }
  return r.Finish();
}

void EncodeAck(const std::vector<uint64_t>& tokens, std::string* out) {
  EncodeSequences(tokens, out);
}

Status DecodeAck(std::string_view body, std::vector<uint64_t>* tokens) {
  BodyReader r(body, "ack");
  uint64_t n = 0;
  if (ReadCount(&r, &n)) {
    tokens->resize(n);
    for (uint64_t& t : *tokens) r.Varint(&t);
  }
  return r.Finish();
}

void EncodeNack(const NackList& nacks, std::string* out) {
  BodyWriter w(out);
  w.Varint(nacks.size());
  for (const auto& [token, delay] : nacks) {
    w.Varint(token);
    w.Varint(delay);
  }
}

Status DecodeNack(std::string_view body, NackList* nacks) {
  BodyReader r(body, "nack");
  uint64_t n = 0;
  if (ReadCount(&r, &n)) {
    nacks->resize(n);
    for (auto& [token, delay] : *nacks) {
      r.Varint(&token);
      r.Varint(&delay);
    }
  }
  return r.Finish();
}

// --- read and admin ----------------------------------------------------------

void EncodeRead(const ReadBody& read, std::string* out) {
  BodyWriter w(out);
  w.Bytes(read.topic);
  w.Varint(read.from_sequence);
  w.Varint(read.max_events);
}

Status DecodeRead(std::string_view body, ReadBody* read) {
  BodyReader r(body, "read");
  r.Bytes(&read->topic);
  r.Varint(&read->from_sequence);
  r.Varint(&read->max_events);
  return r.Finish();
}

void EncodeEvents(const std::vector<Event>& events, std::string* out) {
  BodyWriter(out).Varint(events.size());
  for (const Event& event : events) AppendEventBytes(event, out);
}

Status DecodeEvents(std::string_view body, std::vector<Event>* events) {
  BodyReader r(body, "read_result");
  uint64_t n = 0;
  if (ReadCount(&r, &n)) {
    events->reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view bytes;
      if (!r.Bytes(&bytes)) break;
      EM_ASSIGN_OR_RETURN(Event event, DecodeBinary(bytes));
      events->push_back(std::move(event));
    }
  }
  return r.Finish();
}

void EncodeTopics(const std::vector<TopicInfo>& topics, std::string* out) {
  BodyWriter w(out);
  w.Varint(topics.size());
  for (const TopicInfo& t : topics) {
    w.Bytes(t.topic);
    w.Varint(t.first_sequence);
    w.Varint(t.last_sequence);
    w.Varint(t.count);
    w.Varint(t.bytes);
  }
}

Status DecodeTopics(std::string_view body, std::vector<TopicInfo>* topics) {
  BodyReader r(body, "topics_result");
  uint64_t n = 0;
  if (ReadCount(&r, &n)) {
    topics->resize(n);
    for (TopicInfo& t : *topics) {
      r.Bytes(&t.topic);
      r.Varint(&t.first_sequence);
      r.Varint(&t.last_sequence);
      r.Varint(&t.count);
      r.Varint(&t.bytes);
    }
  }
  return r.Finish();
}

void EncodeGroups(const std::vector<GroupInfo>& groups, std::string* out) {
  BodyWriter w(out);
  w.Varint(groups.size());
  for (const GroupInfo& g : groups) {
    w.Bytes(g.name);
    w.Bytes(g.pattern);
    w.U8(g.durable ? 1 : 0);
    for (uint64_t v : {g.members, g.ack_floor, g.in_flight, g.lag, g.delivered,
                       g.redelivered, g.dead_lettered}) {
      w.Varint(v);
    }
  }
}

Status DecodeGroups(std::string_view body, std::vector<GroupInfo>* groups) {
  BodyReader r(body, "groups_result");
  uint64_t n = 0;
  if (ReadCount(&r, &n)) {
    groups->resize(n);
    for (GroupInfo& g : *groups) {
      uint8_t durable = 0;
      r.Bytes(&g.name);
      r.Bytes(&g.pattern);
      r.U8(&durable);
      g.durable = durable != 0;
      for (uint64_t* v : {&g.members, &g.ack_floor, &g.in_flight, &g.lag,
                          &g.delivered, &g.redelivered, &g.dead_lettered}) {
        r.Varint(v);
      }
    }
  }
  return r.Finish();
}

namespace {
template <typename Stats>
auto StatsFields(Stats& s) {
  return std::array{&s.published,
                    &s.duplicates,
                    &s.delivered,
                    &s.dropped,
                    &s.acked,
                    &s.redelivered,
                    &s.dead_lettered,
                    &s.subscriptions,
                    &s.store.appended,
                    &s.store.duplicates,
                    &s.store.commits,
                    &s.store.syncs,
                    &s.store.bytes_used,
                    &s.store.map_bytes,
                    &s.store.first_position,
                    &s.store.next_position};
}
}  // namespace

// The links of the mesh of nodes follow the counters; a body without
// them (a server without a cluster, or an older one) has none.
void EncodeStats(const MeshStats& stats, std::string* out) {
  BodyWriter w(out);
  for (const uint64_t* v : StatsFields(stats)) w.Varint(*v);
  w.Varint(stats.links.size());
  for (const LinkStats& l : stats.links) {
    w.Bytes(l.node);
    w.U8(l.up ? 1 : 0);
    w.Svarint(l.last_heard_ms);
    for (uint64_t v :
         {l.interest, l.events_sent, l.events_received, l.events_dropped,
          l.messages_sent, l.messages_received, l.in_flight}) {
      w.Varint(v);
    }
  }
}

Status DecodeStats(std::string_view body, MeshStats* stats) {
  BodyReader r(body, "stats_result");
  for (uint64_t* v : StatsFields(*stats)) r.Varint(v);
  uint64_t n = 0;
  if (r.ok() && r.remaining() > 0) ReadCount(&r, &n);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    LinkStats& l = stats->links.emplace_back();
    uint8_t up = 0;
    r.Bytes(&l.node);
    r.U8(&up);
    l.up = up != 0;
    r.Svarint(&l.last_heard_ms);
    for (uint64_t* v :
         {&l.interest, &l.events_sent, &l.events_received, &l.events_dropped,
          &l.messages_sent, &l.messages_received, &l.in_flight}) {
      r.Varint(v);
    }
  }
  return r.Finish();
}

// --- error, goodbye, subscription_end ----------------------------------------

namespace {
void WriteStatus(const Status& status, BodyWriter* w) {
  w->U8(static_cast<uint8_t>(status.code()));
  w->Bytes(status.message());
}

bool ReadStatus(BodyReader* r, Status* status) {
  uint8_t code = 0;
  std::string message;
  if (!r->U8(&code) || !r->Bytes(&message)) return false;
  auto status_code = code == 0 || code >= kStatusCodeCount
                         ? StatusCode::kInternal
                         : static_cast<StatusCode>(code);
  *status = Status(status_code, std::move(message));
  return true;
}
}  // namespace

void EncodeError(const Status& status, std::string* out) {
  BodyWriter w(out);
  WriteStatus(status, &w);
}

Status DecodeError(std::string_view body, Status* status) {
  BodyReader r(body, "error");
  ReadStatus(&r, status);
  return r.Finish();
}

void EncodeStringBody(std::string_view text, std::string* out) {
  BodyWriter(out).Bytes(text);
}

Status DecodeStringBody(std::string_view body, const char* what,
                        std::string* text) {
  BodyReader r(body, what);
  r.Bytes(text);
  return r.Finish();
}

void EncodeSeekGroup(const SeekGroupBody& seek, std::string* out) {
  BodyWriter w(out);
  w.Bytes(seek.durable);
  w.U8(static_cast<uint8_t>(seek.position.kind));
  w.Varint(seek.position.sequence);
  w.Svarint(seek.position.unix_nanos);
}

Status DecodeSeekGroup(std::string_view body, SeekGroupBody* seek) {
  BodyReader r(body, "seek_group");
  uint8_t kind = 0;
  r.Bytes(&seek->durable);
  r.U8(&kind);
  r.Varint(&seek->position.sequence);
  r.Svarint(&seek->position.unix_nanos);
  EM_RETURN_IF_ERROR(r.Finish());
  if (kind > 3) return r.Fail("unknown position kind");
  seek->position.kind = static_cast<StartPosition::Kind>(kind);
  return Status::Ok();
}

void EncodeSubscriptionEnd(const SubscriptionEndBody& end, std::string* out) {
  BodyWriter w(out);
  w.Varint(end.sub_id);
  WriteStatus(end.status, &w);
}

Status DecodeSubscriptionEnd(std::string_view body, SubscriptionEndBody* end) {
  BodyReader r(body, "subscription_end");
  r.Varint(&end->sub_id);
  ReadStatus(&r, &end->status);
  return r.Finish();
}

void AppendErrorFrame(uint64_t request_id, const Status& status,
                      std::string* out) {
  size_t start = BeginFrame(FrameType::kError, request_id, out);
  EncodeError(status, out);
  FinishFrame(start, out);
}

}  // namespace eventmesh::net
