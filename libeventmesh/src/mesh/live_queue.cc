#include "mesh/live_queue.h"

#include <algorithm>
#include <exception>

#include "util/log_internal.h"

namespace eventmesh {
namespace {

// The most events handed to one handler call; bounds latency for the
// events behind them and the memory of one batch.
constexpr size_t kMaxBatch = 1024;

}  // namespace

LiveQueue::LiveQueue(CallbackPool* pool, BatchHandler handler,
                     const SubscribeOptions& options)
    : pool_(pool),
      handler_(std::move(handler)),
      filter_(options.filter),
      max_pending_(options.max_pending ? options.max_pending : 1),
      overflow_(options.overflow),
      block_timeout_(options.block_timeout) {}

bool LiveQueue::PushLocked(const EventPtr& event) {
  bool was_empty = pending_.empty();
  pending_.push_back(event);
  return was_empty;
}

bool LiveQueue::HasRoom() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size() < max_pending_;
}

bool LiveQueue::TryOffer(const EventPtr& event) {
  // A member whose filter refuses the event leaves it to the others.
  if (closed()) return false;
  if (!filter_.MatchesEverything() && !filter_.Matches(*event)) return false;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.size() >= max_pending_) return false;
    wake = PushLocked(event);
  }
  if (wake) pool_->Schedule(shared_from_this());
  return true;
}

void LiveQueue::Offer(const EventPtr& event, uint64_t /*position*/) {
  OfferHolding(event, std::nullopt);
}

void LiveQueue::OfferBefore(const EventPtr& event, uint64_t /*position*/,
                            std::chrono::steady_clock::time_point deadline) {
  OfferHolding(event, deadline);
}

void LiveQueue::OfferHolding(
    const EventPtr& event,
    std::optional<std::chrono::steady_clock::time_point> limit) {
  if (closed()) return;
  if (!filter_.MatchesEverything() && !filter_.Matches(*event)) return;
  bool wake;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (pending_.size() >= max_pending_ &&
        overflow_ == OverflowPolicy::kBlock) {
      // Hold the publisher back until the handler makes room.
      auto deadline = std::chrono::steady_clock::now() + block_timeout_;
      if (limit) deadline = std::min(deadline, *limit);
      ++blocked_publishers_;
      space_cv_.wait_until(lock, deadline, [&] {
        return pending_.size() < max_pending_ || closed();
      });
      --blocked_publishers_;
    }
    if (pending_.size() >= max_pending_ || closed()) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    wake = PushLocked(event);
  }
  if (wake) pool_->Schedule(shared_from_this());
}

void LiveQueue::OfferRun(const std::shared_ptr<Event>* events, size_t count,
                         uint64_t first_position) {
  if (closed()) return;
  // Take what fits under one lock and wake the pool once; the events that
  // do not fit go through Offer() and its overflow policy.
  size_t i = 0;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    bool was_empty = pending_.empty();
    bool match_all = filter_.MatchesEverything();
    for (; i < count && pending_.size() < max_pending_; ++i) {
      if (match_all || filter_.Matches(*events[i])) {
        pending_.push_back(events[i]);
      }
    }
    wake = was_empty && !pending_.empty();
  }
  if (wake) pool_->Schedule(shared_from_this());
  for (; i < count; ++i) Offer(events[i], first_position + i);
}

void LiveQueue::Run() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_.swap(pending_);
    if (blocked_publishers_ > 0) space_cv_.notify_all();
  }
  if (!running_.empty()) Deliver(running_);
  running_.clear();
}

void LiveQueue::Deliver(std::vector<EventPtr>& batch) {
  std::lock_guard<std::mutex> run_lock(run_mu_);
  for (size_t start = 0; start < batch.size(); start += kMaxBatch) {
    if (closed()) return;
    size_t end = std::min(batch.size(), start + kMaxBatch);
    deliveries_.clear();
    for (size_t i = start; i < end; ++i) {
      deliveries_.emplace_back(std::move(batch[i]), 1, nullptr, 0);
    }
    // Counted as handed over before the call, so a handler that reads
    // the stats sees its own batch.
    delivered_.fetch_add(end - start, std::memory_order_relaxed);
    try {
      handler_(deliveries_);
    } catch (const std::exception& e) {
      EM_LOG(kWarn, "mesh", "subscriber handler threw: " << e.what());
    } catch (...) {
      EM_LOG(kWarn, "mesh", "subscriber handler threw a non-exception");
    }
  }
  deliveries_.clear();
}

void LiveQueue::Close() {
  closed_.store(true, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.clear();
    space_cv_.notify_all();
  }
  // Wait out a running handler, unless this is it.
  if (CallbackPool::Current() != this) {
    std::lock_guard<std::mutex> run_lock(run_mu_);
  }
}

SubscriptionStats LiveQueue::Stats() const {
  SubscriptionStats s;
  s.delivered = delivered_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  s.pending = pending_.size();
  return s;
}

LiveQueue* LiveGroup::OfferToRoom(const EventPtr& event) {
  size_t n = members_.size();
  for (size_t i = 0; i < n; ++i) {
    LiveQueue* m = members_[(next_ + i) % n].get();
    if (m->TryOffer(event)) {
      next_ = (next_ + i + 1) % n;
      return m;
    }
  }
  return nullptr;
}

void LiveGroup::Offer(const EventPtr& event, uint64_t position) {
  if (members_.empty() || OfferToRoom(event) != nullptr) return;
  // Everyone is full: that member's overflow policy decides.
  members_[next_ % members_.size()]->Offer(event, position);
  next_ = (next_ + 1) % members_.size();
}

void LiveGroup::OfferBefore(const EventPtr& event, uint64_t position,
                            std::chrono::steady_clock::time_point deadline) {
  if (members_.empty() || OfferToRoom(event) != nullptr) return;
  members_[next_ % members_.size()]->OfferBefore(event, position, deadline);
  next_ = (next_ + 1) % members_.size();
}

void LiveGroup::Add(std::shared_ptr<LiveQueue> member) {
  members_.push_back(std::move(member));
}

bool LiveGroup::Remove(const LiveQueue* member) {
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i].get() == member) {
      members_.erase(members_.begin() + static_cast<ptrdiff_t>(i));
      break;
    }
  }
  return members_.empty();
}

uint64_t LiveGroup::delivered() const {
  uint64_t n = 0;
  for (const auto& m : members_) n += m->Stats().delivered;
  return n;
}

}  // namespace eventmesh
