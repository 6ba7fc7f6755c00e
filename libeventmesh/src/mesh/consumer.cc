#include "mesh/consumer.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <sstream>

#include "eventmesh/clock.h"
#include "eventmesh/topic.h"
#include "util/log_internal.h"

namespace eventmesh {
namespace {

// How many log records one read may examine past those it returns, so a
// pattern that matches rarely does not make one Run() scan the whole log.
constexpr size_t kScanFactor = 16;
constexpr size_t kMinScan = 4096;

// A delivery's ack token is its log position with the low bits of the
// consumer's seek generation above it, so that an ack of a delivery made
// before a seek does not settle the same event read again after it.
constexpr int kTokenSeekShift = 52;
constexpr uint64_t kTokenPositionMask = (uint64_t{1} << kTokenSeekShift) - 1;

bool ParseU64(std::string_view text, uint64_t* value) {
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Consumer::Consumer(Config config, Store* store, CallbackPool* pool,
                   Timer* timer, PublishFn publish)
    : config_(std::move(config)),
      store_(store),
      pool_(pool),
      timer_(timer),
      publish_(std::move(publish)) {
  const StartPosition& start = config_.options.start;
  if (start.kind == StartPosition::Kind::kSequence) {
    min_sequence_ = start.sequence;
  }
}

Result<std::shared_ptr<Consumer>> Consumer::Open(Config config, Store* store,
                                                 CallbackPool* pool,
                                                 Timer* timer,
                                                 PublishFn publish) {
  std::shared_ptr<Consumer> c(
      new Consumer(std::move(config), store, pool, timer, std::move(publish)));
  c->known_end_ = store->Stats().next_position;
  EM_RETURN_IF_ERROR(c->Load());
  return c;
}

bool Consumer::ParseState(const std::string& blob, StoredState* state) {
  std::istringstream in(blob);
  std::string version, next, positions;
  std::getline(in, version);
  std::getline(in, state->pattern);
  std::getline(in, next);
  std::getline(in, positions);
  if (version != "1" || !ParseU64(next, &state->next_read)) return false;
  std::istringstream list(positions);
  std::string token;
  state->pending.clear();
  while (list >> token) {
    uint64_t pos;
    if (ParseU64(token, &pos)) state->pending.push_back(pos);
  }
  return true;
}

std::string Consumer::EncodeState(const StoredState& state) {
  std::string out =
      "1\n" + state.pattern + "\n" + std::to_string(state.next_read) + "\n";
  for (uint64_t pos : state.pending) {
    out += std::to_string(pos);
    out += ' ';
  }
  return out;
}

// The state record is "1\n<pattern>\n<next_read>\n<pos> <pos> ...".
std::string Consumer::EncodeStateLocked() const {
  std::string out =
      "1\n" + config_.pattern + "\n" + std::to_string(next_read_) + "\n";
  for (const auto& [pos, entry] : pending_) {
    out += std::to_string(pos);
    out += ' ';
  }
  return out;
}

Status Consumer::Load() {
  Result<std::string> saved = config_.persistent
                                  ? store_->GetState(StateKey())
                                  : Result<std::string>(NotFound(""));
  if (!saved.ok() && saved.status().code() != StatusCode::kNotFound) {
    return saved.status();
  }
  if (!saved.ok()) {
    // A new consumer: place it at its start and remember that.
    const StartPosition& start = config_.options.start;
    switch (start.kind) {
      case StartPosition::Kind::kLatest:
        next_read_ = store_->Stats().next_position;
        break;
      case StartPosition::Kind::kEarliest:
      case StartPosition::Kind::kSequence:
        next_read_ = 0;
        break;
      case StartPosition::Kind::kTime: {
        EM_ASSIGN_OR_RETURN(next_read_,
                            store_->PositionAtTime(start.unix_nanos));
        break;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++state_version_;
    }
    return Persist(true);
  }

  // A known consumer: check it is the same one, then pick up its events.
  StoredState state;
  if (!ParseState(*saved, &state)) {
    return DataLoss("durable '" + config_.name + "' has a state record " +
                    "this version cannot read");
  }
  next_read_ = state.next_read;
  const std::string& pattern = state.pattern;
  if (pattern != config_.pattern) {
    return FailedPrecondition("durable '" + config_.name +
                              "' exists with pattern '" + pattern + "', not '" +
                              config_.pattern + "'; use another durable name");
  }
  std::vector<LogRecord> records;
  for (uint64_t pos : state.pending) {
    uint64_t ignored;
    records.clear();
    EM_RETURN_IF_ERROR(
        store_->Read(pos, config_.pattern, 1, 1, &records, &ignored));
    if (records.empty() || records[0].position != pos) continue;
    pending_[pos] = Entry{records[0].event};
    ready_.push_back(pos);
  }
  return Status::Ok();
}

uint64_t Consumer::AddMember(BatchHandler handler, size_t max_in_flight,
                             bool manual_ack) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_member_id_++;
    Member& m = members_[id];
    m.handler = std::move(handler);
    m.manual_ack = manual_ack;
    m.max_in_flight = std::max<size_t>(1, max_in_flight);
  }
  pool_->Schedule(shared_from_this());
  return id;
}

uint64_t Consumer::AddRemoteMember(RemoteSink sink, size_t max_in_flight) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_member_id_++;
    Member& m = members_[id];
    m.remote = std::move(sink);
    m.manual_ack = true;
    m.max_in_flight = std::max<size_t>(1, max_in_flight);
  }
  pool_->Schedule(shared_from_this());
  return id;
}

size_t Consumer::LocalMembers() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [id, m] : members_) n += m.remote ? 0 : 1;
  return n;
}

bool Consumer::OfferForeign(std::vector<Delivery> deliveries) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    bool local = false;
    for (const auto& [id, m] : members_) local |= !m.remote;
    if (closed_ || !local) return false;
    for (Delivery& d : deliveries) foreign_.push_back(std::move(d));
  }
  pool_->Schedule(shared_from_this());
  return true;
}

void Consumer::AckPositions(const std::vector<uint64_t>& positions) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    for (uint64_t pos : positions) {
      auto it = pending_.find(pos);
      if (it != pending_.end()) SettleLocked(it);
    }
  }
  // Run() stores the new state and fills the room the acks made.
  pool_->Schedule(shared_from_this());
}

size_t Consumer::RemoveMember(uint64_t member_id) {
  std::shared_ptr<std::mutex> run_mu;
  size_t left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(member_id);
    if (it == members_.end()) return members_.size();
    run_mu = it->second.run_mu;
    members_.erase(it);
    // Its unacknowledged events go back to the others now.
    for (auto& [pos, entry] : pending_) {
      if (entry.member != member_id) continue;
      entry.member = 0;
      ready_.push_front(pos);
    }
    left = members_.size();
  }
  if (CallbackPool::Current() != this) {
    std::lock_guard<std::mutex> wait_for_handler(*run_mu);
  }
  if (left > 0) pool_->Schedule(shared_from_this());
  return left;
}

void Consumer::Offer(const EventPtr& /*event*/, uint64_t position) {
  uint64_t end = position + 1;
  uint64_t known = known_end_.load(std::memory_order_relaxed);
  while (known < end && !known_end_.compare_exchange_weak(known, end)) {
  }
  pool_->Schedule(shared_from_this());
}

bool Consumer::Admits(const Event& event) const {
  if (event.sequence < min_sequence_) return false;
  return config_.options.filter.MatchesEverything() ||
         config_.options.filter.Matches(event);
}

int64_t Consumer::AckWaitNanos(uint32_t attempts) const {
  int64_t wait = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     config_.options.ack_wait)
                     .count();
  int shift = std::min<int>(attempts > 0 ? attempts - 1 : 0, 4);
  return wait << shift;
}

void Consumer::Run() {
  int64_t now = MonotonicNanos();
  std::vector<uint64_t> dead;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    ExpireLocked(now, &dead);
  }
  if (!dead.empty()) DeadLetter(dead);
  ReadMore();

  std::vector<Batch> batches;
  std::vector<Delivery> filtered, unwanted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    AssignLocked(now, &batches);
    AssignForeignLocked(&batches, &filtered, &unwanted);
  }
  // Foreign events the filter refuses are settled at once, as local ones
  // are; without a local member they go back for another node's members.
  for (const Delivery& d : filtered) d.Ack().IgnoreError();
  for (const Delivery& d : unwanted) d.Nack().IgnoreError();
  for (Batch& b : batches) RunBatch(b);

  // Come back for what is left, and at the next redelivery deadline.
  bool again = false;
  bool dirty = false;
  int64_t arm = INT64_MAX;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    size_t room = 0;
    for (const auto& [id, m] : members_) room += m.max_in_flight - m.in_flight;
    bool unread = next_read_ < known_end_.load(std::memory_order_acquire);
    again = room > 0 && (!ready_.empty() || unread);
    if (earliest_deadline_ < timer_armed_for_ || timer_armed_for_ <= now) {
      arm = timer_armed_for_ = earliest_deadline_;
    }
    dirty = state_version_ > persisted_version_ && !writing_;
  }
  if (dirty) Persist(false).IgnoreError();
  if (again) pool_->Schedule(shared_from_this());
  if (arm != INT64_MAX) timer_->At(arm, shared_from_this());
}

void Consumer::ExpireLocked(int64_t now, std::vector<uint64_t>* dead) {
  if (now < earliest_deadline_) return;
  earliest_deadline_ = INT64_MAX;
  int max_deliver = config_.options.max_deliver;
  for (auto& [pos, entry] : pending_) {
    if (entry.member == 0) continue;
    if (entry.deadline > now) {
      earliest_deadline_ = std::min(earliest_deadline_, entry.deadline);
      continue;
    }
    auto m = members_.find(entry.member);
    if (m != members_.end()) --m->second.in_flight;
    entry.member = 0;
    if (max_deliver > 0 &&
        entry.attempts >= static_cast<uint32_t>(max_deliver)) {
      dead->push_back(pos);
    } else {
      ready_.push_back(pos);
    }
  }
}

void Consumer::ReadMore() {
  uint64_t from;
  size_t want;
  uint64_t epoch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    epoch = read_epoch_;
    if (members_.empty()) return;
    if (next_read_ >= known_end_.load(std::memory_order_acquire)) return;
    size_t room = 0;
    for (const auto& [id, m] : members_) room += m.max_in_flight - m.in_flight;
    if (room <= ready_.size()) return;
    want = room - ready_.size();
    from = next_read_;
  }

  std::vector<LogRecord> records;
  uint64_t next = from;
  Status s =
      store_->Read(from, config_.pattern, want,
                   std::max(kMinScan, want * kScanFactor), &records, &next);
  if (!s.ok()) {
    EM_LOG(kError, "mesh",
           "durable '" << config_.name
                       << "' cannot read the log: " << s.ToString());
    return;
  }

  std::lock_guard<std::mutex> lock(mu_);
  // A seek or a deleted topic meanwhile: read again from the new state.
  if (read_epoch_ != epoch) return;
  for (LogRecord& r : records) {
    if (!Admits(*r.event)) continue;
    pending_[r.position] = Entry{std::move(r.event)};
    ready_.push_back(r.position);
  }
  if (next > next_read_) {
    next_read_ = next;
    // Skipped records moved the floor: worth remembering when idle.
    if (pending_.empty()) ++state_version_;
  }
}

void Consumer::AssignLocked(int64_t now, std::vector<Batch>* batches) {
  if (members_.empty()) return;
  std::vector<uint64_t> ids;
  for (const auto& [id, m] : members_) ids.push_back(id);
  std::shared_ptr<detail::Acker> acker;
  if (config_.persistent) {
    acker = std::shared_ptr<detail::Acker>(shared_from_this(),
                                           static_cast<detail::Acker*>(this));
  }
  std::map<uint64_t, size_t> batch_of;  // member id -> index in batches

  while (!ready_.empty()) {
    auto it = pending_.find(ready_.front());
    if (it == pending_.end() || it->second.member != 0) {
      ready_.pop_front();  // settled or already out meanwhile
      continue;
    }
    uint64_t member_id = 0;
    Member* member = NextMemberLocked(ids, &member_id);
    if (member == nullptr) break;
    ready_.pop_front();

    Entry& entry = it->second;
    ++entry.attempts;
    entry.member = member_id;
    entry.deadline = now + AckWaitNanos(entry.attempts);
    earliest_deadline_ = std::min(earliest_deadline_, entry.deadline);
    ++member->in_flight;
    ++member->delivered;
    ++delivered_;
    if (entry.attempts > 1) ++redelivered_;

    auto [slot, fresh] = batch_of.emplace(member_id, batches->size());
    if (fresh) {
      batches->push_back(Batch{member_id,
                               member->handler,
                               member->run_mu,
                               {},
                               {},
                               member->remote,
                               member->manual_ack,
                               false,
                               seek_epoch_});
    }
    Batch& batch = (*batches)[slot->second];
    batch.deliveries.emplace_back(entry.event, entry.attempts, acker,
                                  TokenLocked(it->first));
    batch.positions.push_back(it->first);
    // An ephemeral consumer forgets an event once it is handed over.
    if (!config_.persistent) SettleLocked(it);
  }
}

// Round-robin over the members with room: local ones first, then remote
// ones (other nodes), so events stay on this node while it keeps up.
Consumer::Member* Consumer::NextMemberLocked(const std::vector<uint64_t>& ids,
                                             uint64_t* id) {
  for (bool remote : {false, true}) {
    for (size_t i = 0; i < ids.size(); ++i) {
      size_t at = (round_robin_ + i) % ids.size();
      Member& m = members_[ids[at]];
      if (static_cast<bool>(m.remote) != remote) continue;
      if (m.in_flight >= m.max_in_flight) continue;
      round_robin_ = (at + 1) % ids.size();
      *id = ids[at];
      return &m;
    }
  }
  return nullptr;
}

// Foreign deliveries are bounded by the sending node (the remote member's
// max_in_flight there), so they do not count against local room.
void Consumer::AssignForeignLocked(std::vector<Batch>* batches,
                                   std::vector<Delivery>* filtered,
                                   std::vector<Delivery>* unwanted) {
  if (foreign_.empty()) return;
  std::vector<uint64_t> local;
  for (const auto& [id, m] : members_) {
    if (!m.remote) local.push_back(id);
  }
  std::map<uint64_t, size_t> batch_of;
  for (Delivery& d : foreign_) {
    if (local.empty()) {
      unwanted->push_back(std::move(d));
      continue;
    }
    if (!Admits(d.event())) {
      filtered->push_back(std::move(d));
      continue;
    }
    uint64_t id = local[foreign_round_robin_++ % local.size()];
    Member& m = members_[id];
    ++m.delivered;
    auto [slot, fresh] = batch_of.emplace(id, batches->size());
    if (fresh) {
      batches->push_back(
          Batch{id, m.handler, m.run_mu, {}, {}, nullptr, m.manual_ack, true});
    }
    (*batches)[slot->second].deliveries.push_back(std::move(d));
  }
  foreign_.clear();
}

// A foreign batch settles through each delivery's own acker (it sends the
// ack to the node that stores the event).
void Consumer::SettleForeign(Batch& batch, bool handled) {
  if (handled && batch.manual_ack) return;
  for (const Delivery& d : batch.deliveries) {
    (handled ? d.Ack() : d.Nack()).IgnoreError();
  }
}

void Consumer::RunBatch(Batch& batch) {
  std::lock_guard<std::mutex> run_lock(*batch.run_mu);
  bool gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    gone = closed_ || members_.count(batch.member_id) == 0;
    // Forgotten by a seek (foreign batches are another node's consumer's).
    if (!batch.foreign && batch.seek_epoch != seek_epoch_) return;
  }
  if (gone) {
    if (batch.foreign) SettleForeign(batch, false);
    return;
  }
  if (batch.remote) {
    batch.remote(batch.deliveries, batch.positions);
    return;
  }
  try {
    batch.handler(batch.deliveries);
  } catch (const std::exception& e) {
    EM_LOG(kWarn, "mesh",
           "durable '" << config_.name << "' handler threw: " << e.what());
  } catch (...) {
    EM_LOG(kWarn, "mesh",
           "durable '" << config_.name << "' handler threw a non-exception");
  }
  if (batch.foreign) {
    SettleForeign(batch, true);
    return;
  }
  if (!config_.persistent || batch.manual_ack) return;

  // Automatic acks: the handler returned, so the batch is done. An event
  // redelivered elsewhere meanwhile is left to its new attempt.
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (batch.seek_epoch != seek_epoch_) return;
    for (size_t i = 0; i < batch.positions.size(); ++i) {
      auto it = pending_.find(batch.positions[i]);
      if (it != pending_.end() && it->second.member == batch.member_id &&
          it->second.attempts == batch.deliveries[i].attempt()) {
        SettleLocked(it);
      }
    }
  }
  Persist(false).IgnoreError();
  pool_->Schedule(shared_from_this());
}

void Consumer::SettleLocked(std::map<uint64_t, Entry>::iterator it) {
  if (it->second.member != 0) {
    auto m = members_.find(it->second.member);
    if (m != members_.end()) {
      --m->second.in_flight;
      ++m->second.acked;
    }
  }
  pending_.erase(it);
  ++acked_;
  ++state_version_;
}

Status Consumer::Ack(uint64_t token) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Closed("the subscription's mesh is closed");
    uint64_t position;
    if (!PositionOfTokenLocked(token, &position)) return Status::Ok();
    auto it = pending_.find(position);
    if (it == pending_.end()) return Status::Ok();  // settled already
    SettleLocked(it);
  }
  pool_->Schedule(shared_from_this());
  return Persist(true);
}

Status Consumer::Nack(uint64_t token, std::chrono::milliseconds delay) {
  int64_t deadline;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Closed("the subscription's mesh is closed");
    uint64_t position;
    if (!PositionOfTokenLocked(token, &position)) return Status::Ok();
    auto it = pending_.find(position);
    if (it == pending_.end() || it->second.member == 0) return Status::Ok();
    deadline =
        MonotonicNanos() +
        std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count();
    it->second.deadline = deadline;
    earliest_deadline_ = std::min(earliest_deadline_, deadline);
  }
  if (delay.count() <= 0) {
    pool_->Schedule(shared_from_this());
  } else {
    timer_->At(deadline, shared_from_this());
  }
  return Status::Ok();
}

void Consumer::DeadLetter(const std::vector<uint64_t>& positions) {
  for (uint64_t pos : positions) {
    Event dead;
    uint32_t attempts;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(pos);
      if (it == pending_.end()) continue;
      dead = *it->second.event;
      attempts = it->second.attempts;
    }
    std::string topic = dead.topic;
    dead.SetExtension(
        kDeadReasonAttribute,
        "not acknowledged after " + std::to_string(attempts) + " deliveries");
    dead.SetExtension(kDeadAttemptsAttribute, std::to_string(attempts));
    dead.SetExtension(kDeadTopicAttribute, topic);
    dead.SetExtension(kDeadSequenceAttribute, std::to_string(dead.sequence));
    // A new id: the original one would be taken for a duplicate.
    dead.SetExtension(kDeadIdAttribute, dead.id);
    dead.id.clear();
    Status s = publish_("$DLQ." + config_.name + "." + topic, std::move(dead));

    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(pos);
    if (it == pending_.end()) continue;
    if (s.ok()) {
      SettleLocked(it);
      ++dead_lettered_;
    } else {
      // Keep it; it is tried again after another round of deliveries.
      EM_LOG(kError, "mesh",
             "durable '" << config_.name << "' cannot dead-letter position "
                         << pos << ": " << s.ToString());
      ready_.push_back(pos);
    }
  }
}

Status Consumer::Persist(bool wait) {
  if (!config_.persistent) return Status::Ok();
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = state_version_;
  for (;;) {
    if (persisted_version_ >= target) return Status::Ok();
    if (failed_version_ >= target) return write_error_;
    if (!writing_) {
      writing_ = true;
      uint64_t version = state_version_;
      std::string blob = EncodeStateLocked();
      lock.unlock();
      std::shared_ptr<Task> self = shared_from_this();
      store_->PutState(
          StateKey(), std::move(blob), config_.durability,
          [this, self, version](Status s) {
            bool again;
            {
              std::lock_guard<std::mutex> l(mu_);
              writing_ = false;
              if (s.ok()) {
                persisted_version_ = std::max(persisted_version_, version);
              } else {
                write_error_ = s;
                failed_version_ = std::max(failed_version_, version);
              }
              again = s.ok() && persisted_version_ < state_version_;
            }
            persisted_cv_.notify_all();
            // Later changes are written by the next Run().
            if (again) pool_->Schedule(self);
          });
      lock.lock();
      continue;
    }
    if (!wait) return Status::Ok();
    persisted_cv_.wait(lock);
  }
}

uint64_t Consumer::TokenLocked(uint64_t position) const {
  if (position > kTokenPositionMask) {
    Fatal("consumer: log position " + std::to_string(position) +
          " is beyond the range of ack tokens");
  }
  return position | (seek_epoch_ << kTokenSeekShift);
}

bool Consumer::PositionOfTokenLocked(uint64_t token, uint64_t* position) const {
  uint64_t current = (seek_epoch_ << kTokenSeekShift) >> kTokenSeekShift;
  if (token >> kTokenSeekShift != current) return false;  // before a seek
  *position = token & kTokenPositionMask;
  return true;
}

Status Consumer::DropTopic(const std::string& topic,
                           uint64_t through_sequence) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Closed("the subscription's mesh is closed");
    ++read_epoch_;
    for (auto it = pending_.begin(); it != pending_.end();) {
      const Event& event = *it->second.event;
      if (event.topic != topic || event.sequence > through_sequence) {
        ++it;
        continue;
      }
      auto m = members_.find(it->second.member);
      if (m != members_.end()) --m->second.in_flight;
      it = pending_.erase(it);
    }
    // Skipped positions in ready_ are dropped when they come up.
    ++state_version_;
  }
  pool_->Schedule(shared_from_this());
  return Persist(true);
}

Status Consumer::Seek(uint64_t position) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Closed("the subscription's mesh is closed");
    ++read_epoch_;
    ++seek_epoch_;
    pending_.clear();
    ready_.clear();
    for (auto& [id, m] : members_) m.in_flight = 0;
    next_read_ = position;
    min_sequence_ = 0;
    ++state_version_;
  }
  pool_->Schedule(shared_from_this());
  return Persist(true);
}

Status Consumer::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Status::Ok();
    ++state_version_;
  }
  Status s = Persist(true);
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  members_.clear();
  return s;
}

GroupInfo Consumer::Info() const {
  std::lock_guard<std::mutex> lock(mu_);
  GroupInfo info;
  info.name = config_.name;
  info.pattern = config_.pattern;
  info.durable = config_.persistent;
  info.members = members_.size();
  info.ack_floor = pending_.empty() ? next_read_ : pending_.begin()->first;
  for (const auto& [pos, e] : pending_) info.in_flight += e.member != 0;
  uint64_t end = known_end_.load(std::memory_order_acquire);
  info.lag = end > info.ack_floor ? end - info.ack_floor : 0;
  info.delivered = delivered_;
  info.redelivered = redelivered_;
  info.dead_lettered = dead_lettered_;
  return info;
}

SubscriptionStats Consumer::MemberStats(uint64_t member_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  SubscriptionStats s;
  auto it = members_.find(member_id);
  if (it == members_.end()) return s;
  s.delivered = it->second.delivered;
  s.acked = it->second.acked;
  s.in_flight = it->second.in_flight;
  s.redelivered = redelivered_;
  s.dead_lettered = dead_lettered_;
  s.pending = ready_.size();
  return s;
}

}  // namespace eventmesh
