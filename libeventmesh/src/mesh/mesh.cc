// The parts of mesh.h shared by every transport.

#include "eventmesh/mesh.h"

#include <charconv>
#include <memory>
#include <mutex>
#include <random>

#include "eventmesh/clock.h"

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

void Mesh::PublishEachAsync(std::vector<Event> events, PublishEachDone done,
                            const PublishOptions& options) {
  struct Outcomes {
    std::mutex mu;
    std::vector<Result<uint64_t>> results;
    size_t remaining = 0;
    PublishEachDone done;
  };
  if (events.empty()) {
    std::vector<Result<uint64_t>> none;
    done(none);
    return;
  }
  auto outcomes = std::make_shared<Outcomes>();
  outcomes->results.assign(events.size(), Result<uint64_t>(uint64_t{0}));
  outcomes->remaining = events.size();
  outcomes->done = std::move(done);
  for (size_t i = 0; i < events.size(); ++i) {
    std::string topic = events[i].topic;
    PublishAsync(
        topic, std::move(events[i]),
        [outcomes, i](const Result<uint64_t>& result) {
          std::unique_lock<std::mutex> lock(outcomes->mu);
          outcomes->results[i] = result;
          if (--outcomes->remaining != 0) return;
          lock.unlock();
          outcomes->done(outcomes->results);
        },
        options);
  }
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

namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Per thread: two random seeds and a counter. SplitMix64 is a bijection,
// so one thread never repeats the first word; threads start from
// independent random seeds.
struct IdState {
  uint64_t seed_hi, seed_lo, counter = 0;
  IdState() {
    std::random_device rd;
    seed_hi = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    seed_lo = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
              static_cast<uint64_t>(MonotonicNanos());
  }
};

void PutHex(uint64_t word, int bytes, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = bytes * 2 - 1; i >= 0; --i) {
    out[i] = kHex[word & 0xf];
    word >>= 4;
  }
}

}  // namespace

std::string NewEventId() {
  thread_local IdState state;
  uint64_t n = ++state.counter;
  uint64_t hi = SplitMix64(state.seed_hi + n);
  uint64_t lo = SplitMix64(state.seed_lo ^ (n * 0xd6e8feb86659fd93ull));
  // Version 4, variant 1.
  hi = (hi & 0xffffffffffff0fffull) | 0x0000000000004000ull;
  lo = (lo & 0x3fffffffffffffffull) | 0x8000000000000000ull;
  std::string id(36, '-');
  PutHex(hi >> 32, 4, &id[0]);
  PutHex(hi >> 16, 2, &id[9]);
  PutHex(hi, 2, &id[14]);
  PutHex(lo >> 48, 2, &id[19]);
  PutHex(lo, 6, &id[24]);
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
