// The parts of mesh.h shared by every transport.

#include <charconv>
#include <random>

#include "eventmesh/clock.h"
#include "eventmesh/mesh.h"

namespace eventmesh {

Status Delivery::Ack() const {
  return acker_ ? acker_->Ack(token_) : Status::Ok();
}

Status Delivery::Nack(std::chrono::milliseconds delay) const {
  return acker_ ? acker_->Nack(token_, delay) : Status::Ok();
}

Result<std::unique_ptr<Subscription>> Mesh::Subscribe(
    std::string_view pattern, Handler handler,
    const SubscribeOptions& options) {
  if (!handler) return InvalidArgument("subscribe: the handler is empty");
  return SubscribeBatch(
      pattern,
      [handler = std::move(handler)](const std::vector<Delivery>& batch) {
        for (const Delivery& d : batch) handler(d);
      },
      options);
}

Status Mesh::Reply(const Event& request, Event reply) {
  const std::string* reply_to = request.Extension(kReplyToAttribute);
  if (reply_to == nullptr || reply_to->empty()) {
    return InvalidArgument("the request '" + request.id +
                           "' has no replyto attribute: nobody waits for a "
                           "reply");
  }
  const std::string* id = request.Extension(kCorrelationIdAttribute);
  if (id != nullptr) reply.SetExtension(kCorrelationIdAttribute, *id);
  if (reply.source.empty()) reply.source = request.source;
  if (reply.type.empty()) reply.type = request.type + ".reply";
  return Publish(*reply_to, std::move(reply)).status();
}

std::string NewEventId() {
  thread_local std::mt19937_64 gen([] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
           static_cast<uint64_t>(MonotonicNanos());
  }());
  uint64_t hi = gen(), lo = gen();
  // Version 4, variant 1.
  hi = (hi & 0xffffffffffff0fffull) | 0x0000000000004000ull;
  lo = (lo & 0x3fffffffffffffffull) | 0x8000000000000000ull;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  int pos = 0;
  for (int i = 0; i < 32; ++i) {
    if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
    uint64_t word = i < 16 ? hi : lo;
    int shift = 60 - 4 * (i % 16);
    id[pos++] = kHex[(word >> shift) & 0xf];
  }
  return id;
}

Result<StartPosition> StartPosition::Parse(std::string_view text) {
  if (text == "latest" || text == "new") return Latest();
  if (text == "earliest" || text == "all") return Earliest();
  uint64_t seq = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seq);
  if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) {
    if (seq == 0) return InvalidArgument("start sequence must be 1 or more");
    return Sequence(seq);
  }
  int64_t ns = 0;
  if (ParseRfc3339(text, &ns)) return Time(ns);
  return InvalidArgument("start '" + std::string(text) +
                         "' is not 'latest', 'earliest', a sequence number "
                         "or an RFC 3339 time");
}

}  // namespace eventmesh
