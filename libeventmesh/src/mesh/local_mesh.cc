#include "mesh/local_mesh.h"

#include <algorithm>
#include <future>
#include <random>
#include <set>

#include "eventmesh/clock.h"
#include "eventmesh/topic.h"
#include "util/log_internal.h"

namespace eventmesh {
namespace {

constexpr std::string_view kInboxPrefix = "$INBOX.";
constexpr size_t kMaxCachedTopics = 65536;

bool IsInbox(std::string_view topic) {
  return topic.substr(0, kInboxPrefix.size()) == kInboxPrefix;
}

std::string RandomNodeId() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "node-";
  for (int i = 0; i < 12; ++i) id += kHex[gen() % 16];
  return id;
}

// A durable name becomes a topic token ("$DLQ.<name>.<topic>").
Status ValidateDurableName(const std::string& name) {
  Status s = ValidateTopic(name);
  if (!s.ok() || name.find('.') != std::string::npos || name[0] == '$') {
    return InvalidArgument("durable name '" + name +
                           "' must be one token of letters, digits, '_', "
                           "'-' or ':'");
  }
  return Status::Ok();
}

class LiveHandle : public Subscription {
 public:
  LiveHandle(LocalMesh* mesh, uint64_t route_id, std::string group_key,
             std::shared_ptr<LiveQueue> queue, std::string pattern)
      : mesh_(mesh),
        route_id_(route_id),
        group_key_(std::move(group_key)),
        queue_(std::move(queue)),
        pattern_(std::move(pattern)) {}
  ~LiveHandle() override { Unsubscribe().IgnoreError(); }

  Status Unsubscribe() override {
    if (done_.exchange(true)) return Status::Ok();
    mesh_->RemoveLive(route_id_, group_key_, queue_);
    return Status::Ok();
  }
  SubscriptionStats Stats() const override { return queue_->Stats(); }
  const std::string& pattern() const override { return pattern_; }

 private:
  LocalMesh* mesh_;
  uint64_t route_id_;
  std::string group_key_;
  std::shared_ptr<LiveQueue> queue_;
  std::string pattern_;
  std::atomic<bool> done_{false};
};

// The interest a durable member on this node advertises to other nodes.
Interest DurableInterest(const std::string& pattern,
                         const SubscribeOptions& options) {
  Interest interest{pattern, options.durable, true, {}};
  DurableTerms& t = interest.terms;
  t.ack_wait_ms = static_cast<uint64_t>(std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(options.ack_wait)
             .count()));
  t.max_deliver = static_cast<uint64_t>(std::max(0, options.max_deliver));
  t.max_in_flight = options.max_in_flight;
  t.start_kind = static_cast<uint8_t>(options.start.kind);
  t.start_value = options.start.kind == StartPosition::Kind::kTime
                      ? static_cast<uint64_t>(options.start.unix_nanos)
                      : options.start.sequence;
  return interest;
}

class MemberHandle : public Subscription {
 public:
  MemberHandle(LocalMesh* mesh, std::string key,
               std::shared_ptr<Consumer> consumer, uint64_t member_id,
               bool remote)
      : mesh_(mesh),
        key_(std::move(key)),
        consumer_(std::move(consumer)),
        member_id_(member_id),
        remote_(remote) {}
  ~MemberHandle() override { Unsubscribe().IgnoreError(); }

  Status Unsubscribe() override {
    if (done_.exchange(true)) return Status::Ok();
    mesh_->RemoveMember(key_, consumer_, member_id_, remote_);
    return Status::Ok();
  }
  SubscriptionStats Stats() const override {
    return consumer_->MemberStats(member_id_);
  }
  const std::string& pattern() const override {
    return consumer_->config().pattern;
  }

 private:
  LocalMesh* mesh_;
  std::string key_;
  std::shared_ptr<Consumer> consumer_;
  uint64_t member_id_;
  bool remote_;
  std::atomic<bool> done_{false};
};

}  // namespace

// A request waiting for its reply.
struct LocalMesh::RequestWaiter {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Event reply;
};

// Replies go straight to the waiting Request() from the dispatching thread:
// no pool hop, so a request made from inside a handler still gets its
// answer.
class LocalMesh::InboxRoute : public Route {
 public:
  explicit InboxRoute(LocalMesh* mesh) : mesh_(mesh) {}
  void Offer(const EventPtr& event, uint64_t) override {
    const std::string* id = event->Extension(kCorrelationIdAttribute);
    if (id == nullptr) return;
    std::shared_ptr<RequestWaiter> waiter;
    {
      std::lock_guard<std::mutex> lock(mesh_->request_mu_);
      auto it = mesh_->requests_.find(*id);
      if (it == mesh_->requests_.end()) return;  // late or unknown
      waiter = it->second;
    }
    std::lock_guard<std::mutex> lock(waiter->mu);
    if (waiter->done) return;  // only the first reply counts
    waiter->reply = *event;
    waiter->done = true;
    waiter->cv.notify_all();
  }

 private:
  LocalMesh* mesh_;
};

LocalMesh::LocalMesh(std::unique_ptr<eventmesh::Store> store,
                     const MeshOptions& options)
    : options_(options),
      node_id_(options.node_id.empty() ? RandomNodeId() : options.node_id),
      store_(std::move(store)),
      pool_(options.callback_threads),
      timer_(&pool_) {
  inbox_prefix_ = std::string(kInboxPrefix) + node_id_ + ".";
  std::lock_guard<std::mutex> lock(mu_);
  AddRouteLocked(inbox_prefix_ + ">", std::make_shared<InboxRoute>(this),
                 RouteKind::kInbox);
}

LocalMesh::~LocalMesh() { Close().IgnoreError(); }

// --- Publishing -------------------------------------------------------------

Status LocalMesh::PrepareInPlace(Event* event, bool topic_checked,
                                 bool* chosen_id) {
  if (closing_.load(std::memory_order_acquire)) {
    return Closed("the mesh is closed");
  }
  if (!topic_checked) {
    EM_RETURN_IF_ERROR(ValidateTopic(event->topic).WithContext("publish"));
  }
  *chosen_id = !event->id.empty();
  if (!*chosen_id) event->id = NewEventId();
  Status valid = event->Validate();
  if (!valid.ok()) {
    return valid.WithContext("publish to '" + event->topic + "'");
  }
  return valid;
}

Result<std::shared_ptr<Event>> LocalMesh::Prepare(std::string_view topic,
                                                  Event event,
                                                  bool* chosen_id) {
  event.topic.assign(topic);
  EM_RETURN_IF_ERROR(PrepareInPlace(&event, false, chosen_id));
  return std::make_shared<Event>(std::move(event));
}

Durability LocalMesh::DurabilityOf(const PublishOptions& options) const {
  return options.durability.value_or(options_.durability);
}

void LocalMesh::Dispatch(const std::vector<std::shared_ptr<Event>>& events,
                         const std::vector<AppendOutcome>& outcomes) {
  std::lock_guard<std::mutex> lock(mu_);
  // Runs of accepted events on one topic at consecutive positions go to
  // each route at once: one route lookup and one queue lock per run.
  size_t i = 0;
  while (i < events.size()) {
    const AppendOutcome& first = outcomes[i];
    if (!first.status.ok() || first.duplicate) {
      DispatchStoredLocked(events[i], first);
      ++i;
      continue;
    }
    size_t end = i + 1;
    while (end < events.size() && outcomes[end].status.ok() &&
           !outcomes[end].duplicate &&
           outcomes[end].position == first.position + (end - i) &&
           events[end]->topic == events[i]->topic) {
      ++end;
    }
    published_.fetch_add(end - i, std::memory_order_relaxed);
    for (Route* route : RoutesForLocked(events[i]->topic)) {
      route->OfferRun(&events[i], end - i, first.position);
    }
    if (cluster_ != nullptr) {
      for (size_t k = i; k < end; ++k) {
        cluster_->OnLocalEvent(events[k], outcomes[k].position);
      }
    }
    i = end;
  }
}

void LocalMesh::DispatchStoredLocked(const EventPtr& event,
                                     const AppendOutcome& outcome) {
  if (!outcome.status.ok()) return;
  if (outcome.duplicate) {
    duplicates_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  published_.fetch_add(1, std::memory_order_relaxed);
  DispatchOne(event, outcome.position);
}

const std::vector<Route*>& LocalMesh::RoutesForLocked(
    const std::string& topic) {
  auto it = route_cache_.find(topic);
  if (it == route_cache_.end()) {
    if (route_cache_.size() >= kMaxCachedTopics) route_cache_.clear();
    it = route_cache_.emplace(topic, CachedRoutes{}).first;
    it->second.generation = index_.generation() + 1;  // force a match
  }
  CachedRoutes& cached = it->second;
  if (cached.generation != index_.generation()) {
    match_scratch_.clear();
    index_.Match(topic, &match_scratch_);
    cached.routes.clear();
    for (uint64_t id : match_scratch_) {
      auto r = routes_.find(id);
      if (r != routes_.end()) cached.routes.push_back(r->second.route.get());
    }
    cached.generation = index_.generation();
  }
  return cached.routes;
}

void LocalMesh::DispatchOne(const EventPtr& event, uint64_t position) {
  for (Route* route : RoutesForLocked(event->topic)) {
    route->Offer(event, position);
  }
  if (cluster_ != nullptr) cluster_->OnLocalEvent(event, position);
}

Result<uint64_t> LocalMesh::Publish(std::string_view topic, Event event,
                                    const PublishOptions& options) {
  bool chosen_id;
  EM_ASSIGN_OR_RETURN(std::shared_ptr<Event> prepared,
                      Prepare(topic, std::move(event), &chosen_id));
  if (IsInbox(prepared->topic)) {
    std::lock_guard<std::mutex> lock(mu_);
    DispatchOne(prepared, 0);
    return uint64_t{0};
  }

  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    AppendOutcome outcome;
  } wait;
  std::vector<std::shared_ptr<Event>> batch{prepared};
  store_->Append(
      std::move(batch), DurabilityOf(options),
      [this, &wait, &prepared](std::vector<AppendOutcome>& out) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          DispatchStoredLocked(prepared, out[0]);
        }
        std::lock_guard<std::mutex> lock(wait.mu);
        wait.outcome = std::move(out[0]);
        wait.done = true;
        wait.cv.notify_one();
      },
      chosen_id);
  std::unique_lock<std::mutex> lock(wait.mu);
  wait.cv.wait(lock, [&] { return wait.done; });
  if (!wait.outcome.status.ok()) return wait.outcome.status;
  return wait.outcome.sequence;
}

void LocalMesh::PublishAsync(std::string_view topic, Event event,
                             PublishDone done, const PublishOptions& options) {
  bool chosen_id;
  Result<std::shared_ptr<Event>> prepared =
      Prepare(topic, std::move(event), &chosen_id);
  if (!prepared.ok()) {
    done(prepared.status());
    return;
  }
  std::shared_ptr<Event> ev = std::move(prepared).value();
  if (IsInbox(ev->topic)) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      DispatchOne(ev, 0);
    }
    done(uint64_t{0});
    return;
  }
  std::vector<std::shared_ptr<Event>> batch{ev};
  store_->Append(
      std::move(batch), DurabilityOf(options),
      [this, ev, done = std::move(done)](std::vector<AppendOutcome>& out) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          DispatchStoredLocked(ev, out[0]);
        }
        if (out[0].status.ok()) {
          done(out[0].sequence);
        } else {
          done(out[0].status);
        }
      },
      chosen_id);
}

Result<std::vector<uint64_t>> LocalMesh::PublishBatch(
    std::vector<Event> events, const PublishOptions& options) {
  // One allocation holds the whole batch; each event is shared through
  // an aliasing pointer into it, so a batch costs no per-event allocation.
  auto holder = std::make_shared<std::vector<Event>>(std::move(events));
  std::vector<std::shared_ptr<Event>> prepared;
  prepared.reserve(holder->size());
  bool any_chosen_id = false;
  const std::string* checked_topic = nullptr;
  for (size_t i = 0; i < holder->size(); ++i) {
    Event& event = (*holder)[i];
    bool chosen_id;
    Status s = PrepareBatchEvent(&event, &checked_topic, &chosen_id);
    if (!s.ok()) {
      return s.WithContext("event " + std::to_string(i) + " of the batch");
    }
    if (IsInbox(event.topic)) {
      return InvalidArgument("event " + std::to_string(i) +
                             " of the batch is a reply; publish replies "
                             "with Reply()");
    }
    any_chosen_id |= chosen_id;
    prepared.emplace_back(holder, &event);
  }
  if (prepared.empty()) return std::vector<uint64_t>{};

  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::vector<AppendOutcome> outcomes;
  } wait;
  std::vector<std::shared_ptr<Event>> batch = prepared;
  store_->Append(
      std::move(batch), DurabilityOf(options),
      [this, &wait, &prepared](std::vector<AppendOutcome>& out) {
        Dispatch(prepared, out);
        std::lock_guard<std::mutex> lock(wait.mu);
        wait.outcomes = std::move(out);
        wait.done = true;
        wait.cv.notify_one();
      },
      any_chosen_id);
  std::unique_lock<std::mutex> lock(wait.mu);
  wait.cv.wait(lock, [&] { return wait.done; });

  std::vector<uint64_t> sequences;
  sequences.reserve(wait.outcomes.size());
  for (const AppendOutcome& o : wait.outcomes) {
    if (!o.status.ok()) return o.status;
    sequences.push_back(o.sequence);
  }
  return sequences;
}

Status LocalMesh::PrepareBatchEvent(Event* event,
                                    const std::string** checked_topic,
                                    bool* chosen_id) {
  bool topic_checked =
      *checked_topic != nullptr && **checked_topic == event->topic;
  EM_RETURN_IF_ERROR(PrepareInPlace(event, topic_checked, chosen_id));
  *checked_topic = &event->topic;
  return Status::Ok();
}

void LocalMesh::PublishEachAsync(std::vector<Event> events,
                                 PublishEachDone done,
                                 const PublishOptions& options) {
  // As PublishBatch: one allocation holds the batch, one append stores it.
  auto holder = std::make_shared<std::vector<Event>>(std::move(events));
  std::vector<Result<uint64_t>> results(holder->size(),
                                        Result<uint64_t>(uint64_t{0}));
  std::vector<std::shared_ptr<Event>> prepared;
  std::vector<size_t> slots;  // the index in `results` of each prepared
  prepared.reserve(holder->size());
  slots.reserve(holder->size());
  bool any_chosen_id = false;
  const std::string* checked_topic = nullptr;
  for (size_t i = 0; i < holder->size(); ++i) {
    Event& event = (*holder)[i];
    bool chosen_id;
    Status s = PrepareBatchEvent(&event, &checked_topic, &chosen_id);
    if (!s.ok()) {
      results[i] = s;
      continue;
    }
    std::shared_ptr<Event> shared(holder, &event);
    if (IsInbox(event.topic)) {  // a reply: not stored (see PublishAsync)
      std::lock_guard<std::mutex> lock(mu_);
      DispatchOne(shared, 0);
      continue;
    }
    any_chosen_id |= chosen_id;
    prepared.push_back(std::move(shared));
    slots.push_back(i);
  }
  if (prepared.empty()) {
    done(results);
    return;
  }
  std::vector<std::shared_ptr<Event>> batch = prepared;
  store_->Append(
      std::move(batch), DurabilityOf(options),
      [this, prepared = std::move(prepared), slots = std::move(slots),
       results = std::move(results),
       done = std::move(done)](std::vector<AppendOutcome>& out) mutable {
        Dispatch(prepared, out);
        for (size_t k = 0; k < out.size(); ++k) {
          if (out[k].status.ok()) {
            results[slots[k]] = out[k].sequence;
          } else {
            results[slots[k]] = out[k].status;
          }
        }
        done(results);
      },
      any_chosen_id);
}

// --- Subscribing ------------------------------------------------------------

uint64_t LocalMesh::AddRouteLocked(const std::string& pattern,
                                   std::shared_ptr<Route> route, RouteKind kind,
                                   const std::string& group) {
  uint64_t id = next_route_id_++;
  RouteEntry& entry = routes_[id];
  entry = RouteEntry{pattern, std::move(route), kind, group};
  index_.Add(pattern, id);
  NotifyInterestLocked(entry, true);
  return id;
}

void LocalMesh::RemoveRouteLocked(uint64_t id) {
  auto it = routes_.find(id);
  if (it == routes_.end()) return;
  NotifyInterestLocked(it->second, false);
  index_.Remove(it->second.pattern, id);
  routes_.erase(it);
}

void LocalMesh::NotifyInterestLocked(const RouteEntry& entry, bool added) {
  if (cluster_ == nullptr || entry.kind == RouteKind::kConsumer) return;
  cluster_->OnInterest(Interest{entry.pattern, entry.group}, added);
}

// --- Cluster hooks ----------------------------------------------------------

std::vector<Interest> LocalMesh::AttachCluster(ClusterHook* hook) {
  {
    // Waits for a Stats() call that is asking the old hook.
    std::lock_guard<std::mutex> lock(link_stats_mu_);
    link_stats_ = hook;
  }
  std::lock_guard<std::mutex> subscribe_lock(subscribe_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  cluster_ = hook;
  std::vector<Interest> interest;
  for (const auto& [id, entry] : routes_) {
    if (entry.kind == RouteKind::kConsumer) continue;
    interest.push_back(Interest{entry.pattern, entry.group});
  }
  // Durables: once per local member, as SubscribeConsumer reports them.
  for (const auto& [key, entry] : consumers_) {
    const Consumer::Config& config = entry.second->config();
    if (!config.persistent) continue;
    Interest durable = DurableInterest(config.pattern, config.options);
    for (size_t n = entry.second->LocalMembers(); n > 0; --n) {
      interest.push_back(durable);
    }
  }
  return interest;
}

Result<std::unique_ptr<Subscription>> LocalMesh::AddRemoteMember(
    const Interest& durable, Consumer::RemoteSink sink) {
  const DurableTerms& t = durable.terms;
  SubscribeOptions options;
  options.durable = durable.group;
  options.manual_ack = true;
  options.ack_wait = std::chrono::milliseconds(std::max<uint64_t>(
      1, std::min<uint64_t>(t.ack_wait_ms, 24ull * 3600 * 1000)));
  options.max_deliver = static_cast<int>(
      std::min<uint64_t>(t.max_deliver, static_cast<uint64_t>(INT32_MAX)));
  options.max_in_flight = std::max<uint64_t>(1, t.max_in_flight);
  options.start.kind = static_cast<StartPosition::Kind>(t.start_kind);
  options.start.sequence = t.start_value;
  options.start.unix_nanos = static_cast<int64_t>(t.start_value);
  if (closing_.load(std::memory_order_acquire)) {
    return Closed("the mesh is closed");
  }
  EM_RETURN_IF_ERROR(ValidatePattern(durable.pattern));
  EM_RETURN_IF_ERROR(ValidateDurableName(durable.group));
  return SubscribeConsumer(durable.pattern, nullptr, options, std::move(sink));
}

std::shared_ptr<Consumer> LocalMesh::FindDurable(const std::string& durable) {
  std::lock_guard<std::mutex> subscribe_lock(subscribe_mu_);
  auto it = consumers_.find(durable);
  if (it == consumers_.end() || !it->second.second->config().persistent) {
    return nullptr;
  }
  return it->second.second;
}

bool LocalMesh::OfferRemoteDurable(const std::string& durable,
                                   const std::vector<Delivery>& deliveries) {
  std::shared_ptr<Consumer> consumer = FindDurable(durable);
  return consumer != nullptr && consumer->OfferForeign(deliveries);
}

void LocalMesh::SettleRemoteDurable(
    const std::string& durable, const std::vector<uint64_t>& acks,
    const std::vector<std::pair<uint64_t, std::chrono::milliseconds>>& nacks) {
  std::shared_ptr<Consumer> consumer = FindDurable(durable);
  if (consumer == nullptr) return;  // closed: its stored state redelivers
  if (!acks.empty()) consumer->AckPositions(acks);
  for (const auto& [position, delay] : nacks) {
    consumer->Nack(position, delay).IgnoreError();
  }
}

// Peer events are rare next to local ones and each names its routes, so
// they are matched without the topic cache.
void LocalMesh::InjectRemote(const std::vector<RemoteEvent>& events,
                             std::chrono::steady_clock::time_point hold_until) {
  std::vector<uint64_t> matched;
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return;
  for (const RemoteEvent& remote : events) {
    matched.clear();
    index_.Match(remote.event->topic, &matched);
    for (uint64_t id : matched) {
      auto it = routes_.find(id);
      if (it == routes_.end()) continue;
      const RouteEntry& entry = it->second;
      bool wanted = false;
      switch (entry.kind) {
        case RouteKind::kLive:
        case RouteKind::kInbox:
          wanted = remote.broadcast;
          break;
        case RouteKind::kGroup:
          wanted = std::find(remote.groups.begin(), remote.groups.end(),
                             entry.group + "\n" + entry.pattern) !=
                   remote.groups.end();
          break;
        case RouteKind::kConsumer:
          break;
      }
      if (wanted) entry.route->OfferBefore(remote.event, 0, hold_until);
    }
  }
}

Result<std::unique_ptr<Subscription>> LocalMesh::SubscribeBatch(
    std::string_view pattern, BatchHandler handler,
    const SubscribeOptions& options) {
  if (closing_.load(std::memory_order_acquire)) {
    return Closed("the mesh is closed");
  }
  EM_RETURN_IF_ERROR(ValidatePattern(pattern).WithContext("subscribe"));
  if (!handler) return InvalidArgument("subscribe: the handler is empty");
  if (!options.durable.empty()) {
    EM_RETURN_IF_ERROR(ValidateDurableName(options.durable));
    if (!options.group.empty() && options.group != options.durable) {
      return InvalidArgument(
          "a durable subscription's group is its durable "
          "name: group '" +
          options.group + "' differs from durable '" + options.durable + "'");
    }
  }
  if (!options.durable.empty() ||
      options.start.kind != StartPosition::Kind::kLatest) {
    return SubscribeConsumer(pattern, std::move(handler), options);
  }
  return SubscribeLive(pattern, std::move(handler), options);
}

Result<std::unique_ptr<Subscription>> LocalMesh::SubscribeLive(
    std::string_view pattern, BatchHandler handler,
    const SubscribeOptions& options) {
  auto queue = std::make_shared<LiveQueue>(&pool_, std::move(handler), options);
  std::string p(pattern);
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return Closed("the mesh is closed");
  live_[queue.get()] = queue;
  if (options.group.empty()) {
    uint64_t id = AddRouteLocked(p, queue, RouteKind::kLive);
    return std::unique_ptr<Subscription>(
        new LiveHandle(this, id, "", queue, p));
  }
  std::string key = options.group + "\n" + p;
  auto it = groups_.find(key);
  if (it == groups_.end()) {
    auto group = std::make_shared<LiveGroup>();
    uint64_t id = AddRouteLocked(p, group, RouteKind::kGroup, options.group);
    it = groups_.emplace(key, std::make_pair(id, group)).first;
  }
  it->second.second->Add(queue);
  return std::unique_ptr<Subscription>(
      new LiveHandle(this, it->second.first, key, queue, p));
}

Result<std::unique_ptr<Subscription>> LocalMesh::SubscribeConsumer(
    std::string_view pattern, BatchHandler handler,
    const SubscribeOptions& options, Consumer::RemoteSink remote) {
  std::string p(pattern);
  std::lock_guard<std::mutex> subscribe_lock(subscribe_mu_);
  std::string key = options.durable;
  if (key.empty()) {
    // A replay without a durable name: ephemeral, shared by its group.
    key = options.group.empty() ? "~" + std::to_string(next_ephemeral_++)
                                : "~" + options.group + "\n" + p;
  }

  std::shared_ptr<Consumer> consumer;
  auto it = consumers_.find(key);
  if (it != consumers_.end()) {
    consumer = it->second.second;
    if (consumer->config().pattern != p) {
      return FailedPrecondition(
          "durable '" + key + "' is in use with pattern '" +
          consumer->config().pattern + "', not '" + p + "'");
    }
  } else {
    Consumer::Config config;
    config.name = options.durable.empty() ? key : options.durable;
    config.pattern = p;
    config.persistent = !options.durable.empty();
    config.options = options;
    config.durability = options_.durability;
    EM_ASSIGN_OR_RETURN(
        consumer,
        Consumer::Open(std::move(config), store_.get(), &pool_, &timer_,
                       [this](std::string topic, Event event) {
                         return Publish(topic, std::move(event), {}).status();
                       }));
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Closed("the mesh is closed");
    uint64_t id = AddRouteLocked(p, consumer, RouteKind::kConsumer);
    consumers_.emplace(key, std::make_pair(id, consumer));
  }

  bool is_remote = static_cast<bool>(remote);
  uint64_t member =
      is_remote
          ? consumer->AddRemoteMember(std::move(remote), options.max_in_flight)
          : consumer->AddMember(std::move(handler), options.max_in_flight,
                                options.manual_ack);
  if (!is_remote && !options.durable.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cluster_ != nullptr) {
      cluster_->OnInterest(DurableInterest(p, options), true);
    }
  }
  // Events stored while the consumer was opening are read now.
  uint64_t next = store_->Stats().next_position;
  if (next > 0) consumer->Offer(nullptr, next - 1);
  return std::unique_ptr<Subscription>(
      new MemberHandle(this, key, consumer, member, is_remote));
}

void LocalMesh::RemoveLive(uint64_t route_id, const std::string& group_key,
                           const std::shared_ptr<LiveQueue>& queue) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    live_.erase(queue.get());
    if (group_key.empty()) {
      RemoveRouteLocked(route_id);
    } else {
      auto it = groups_.find(group_key);
      if (it != groups_.end() && it->second.second->Remove(queue.get())) {
        RemoveRouteLocked(it->second.first);
        groups_.erase(it);
      }
    }
  }
  // Outside the lock: the handler being waited for may be publishing.
  queue->Close();
}

void LocalMesh::RemoveMember(const std::string& key,
                             const std::shared_ptr<Consumer>& consumer,
                             uint64_t member_id, bool remote) {
  const Consumer::Config& config = consumer->config();
  if (!remote && config.persistent) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cluster_ != nullptr) {
      cluster_->OnInterest(DurableInterest(config.pattern, config.options),
                           false);
    }
  }
  if (consumer->RemoveMember(member_id) > 0) return;
  std::lock_guard<std::mutex> subscribe_lock(subscribe_mu_);
  if (consumer->Info().members > 0) return;  // someone joined meanwhile
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = consumers_.find(key);
    if (it == consumers_.end() || it->second.second != consumer) return;
    RemoveRouteLocked(it->second.first);
    consumers_.erase(it);
  }
  // Still under subscribe_mu_: the durable's stored state is final before
  // it can be opened again or moved by SeekGroup.
  consumer->Close().IgnoreError();
}

// --- Request/reply ----------------------------------------------------------

Result<Event> LocalMesh::Request(std::string_view topic, Event request,
                                 std::chrono::milliseconds timeout) {
  auto waiter = std::make_shared<RequestWaiter>();
  std::string id;
  {
    std::lock_guard<std::mutex> lock(request_mu_);
    id = std::to_string(next_request_++);
    requests_[id] = waiter;
  }
  request.SetExtension(kReplyToAttribute, inbox_prefix_ + id);
  request.SetExtension(kCorrelationIdAttribute, id);
  Result<uint64_t> published = Publish(topic, std::move(request), {});

  Status status;
  if (!published.ok()) {
    status = published.status();
  } else {
    std::unique_lock<std::mutex> lock(waiter->mu);
    if (!waiter->cv.wait_for(lock, timeout, [&] { return waiter->done; })) {
      status = Timeout("no reply to the request on '" + std::string(topic) +
                       "' within " + std::to_string(timeout.count()) + " ms");
    }
  }
  {
    std::lock_guard<std::mutex> lock(request_mu_);
    requests_.erase(id);
  }
  if (!status.ok()) return status;
  std::lock_guard<std::mutex> lock(waiter->mu);
  return std::move(waiter->reply);
}

// --- Reading and administration --------------------------------------------

Result<std::vector<Event>> LocalMesh::Read(std::string_view topic,
                                           uint64_t from_sequence,
                                           size_t max_events) {
  EM_RETURN_IF_ERROR(ValidateTopic(topic).WithContext("read"));
  std::vector<LogRecord> records;
  EM_RETURN_IF_ERROR(
      store_->ReadTopic(topic, from_sequence, max_events, &records));
  std::vector<Event> events;
  events.reserve(records.size());
  for (const LogRecord& r : records) events.push_back(*r.event);
  return events;
}

Result<std::vector<TopicInfo>> LocalMesh::Topics() { return store_->Topics(); }

Result<std::vector<GroupInfo>> LocalMesh::Groups() {
  std::vector<GroupInfo> groups;
  std::lock_guard<std::mutex> subscribe_lock(subscribe_mu_);
  std::set<std::string> live;
  for (const auto& [key, entry] : consumers_) {
    GroupInfo info = entry.second->Info();
    if (!info.durable) continue;
    live.insert(info.name);
    groups.push_back(std::move(info));
  }

  // Durables with no member now, as their stored state has them.
  constexpr std::string_view kStatePrefix = "consumer/";
  EM_ASSIGN_OR_RETURN(auto stored, store_->ListState(kStatePrefix));
  uint64_t end = store_->Stats().next_position;
  for (const auto& [key, blob] : stored) {
    std::string name = key.substr(kStatePrefix.size());
    Consumer::StoredState state;
    if (live.count(name) || !Consumer::ParseState(blob, &state)) continue;
    GroupInfo info;
    info.name = std::move(name);
    info.pattern = state.pattern;
    info.durable = true;
    info.ack_floor = state.next_read;
    for (uint64_t pos : state.pending) {
      info.ack_floor = std::min(info.ack_floor, pos);
    }
    info.lag = end > info.ack_floor ? end - info.ack_floor : 0;
    groups.push_back(std::move(info));
  }

  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, entry] : groups_) {
    GroupInfo info;
    size_t newline = key.find('\n');
    info.name = key.substr(0, newline);
    info.pattern = key.substr(newline + 1);
    info.members = entry.second->size();
    info.delivered = entry.second->delivered();
    groups.push_back(std::move(info));
  }
  return groups;
}

Result<MeshStats> LocalMesh::Stats() {
  MeshStats stats;
  stats.published = published_.load(std::memory_order_relaxed);
  stats.duplicates = duplicates_.load(std::memory_order_relaxed);
  std::vector<std::shared_ptr<Consumer>> consumers;
  {
    std::lock_guard<std::mutex> subscribe_lock(subscribe_mu_);
    for (const auto& [key, entry] : consumers_) {
      consumers.push_back(entry.second);
    }
  }
  for (const auto& c : consumers) {
    GroupInfo info = c->Info();
    stats.delivered += info.delivered;
    stats.redelivered += info.redelivered;
    stats.dead_lettered += info.dead_lettered;
    stats.acked += c->acked();
    stats.subscriptions += info.members;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [ptr, weak] : live_) {
      if (auto q = weak.lock()) {
        SubscriptionStats s = q->Stats();
        stats.delivered += s.delivered;
        stats.dropped += s.dropped;
        ++stats.subscriptions;
      }
    }
  }
  stats.store = store_->Stats();
  {
    std::lock_guard<std::mutex> lock(link_stats_mu_);
    if (link_stats_ != nullptr) link_stats_->AppendLinkStats(&stats.links);
  }
  return stats;
}

Result<uint64_t> LocalMesh::RepublishDeadLetters(std::string_view durable) {
  std::string prefix = "$DLQ." + std::string(durable) + ".";
  EM_ASSIGN_OR_RETURN(std::vector<TopicInfo> topics, store_->Topics());
  uint64_t count = 0;
  for (const TopicInfo& t : topics) {
    if (t.topic.compare(0, prefix.size(), prefix) != 0) continue;
    if (t.count == 0) continue;  // emptied by retention or DeleteTopic
    std::vector<LogRecord> records;
    EM_RETURN_IF_ERROR(
        store_->ReadTopic(t.topic, t.first_sequence, SIZE_MAX, &records));
    for (const LogRecord& r : records) {
      Event e = *r.event;
      const std::string* original = e.Extension(kDeadTopicAttribute);
      if (original == nullptr) continue;
      std::string topic = *original;
      // A new id (the original may still be inside the dedup window); the
      // original id stays readable as "deadid".
      for (std::string_view a : {kDeadReasonAttribute, kDeadAttemptsAttribute,
                                 kDeadTopicAttribute, kDeadSequenceAttribute}) {
        e.RemoveExtension(a);
      }
      e.id.clear();
      e.topic.clear();
      e.sequence = 0;
      e.stored_at_nanos = 0;
      EM_RETURN_IF_ERROR(Publish(topic, std::move(e), {}).status());
      ++count;
    }
    EM_RETURN_IF_ERROR(store_->DeleteTopic(t.topic));
  }
  return count;
}

// subscribe_mu_ is held throughout: no durable opens or closes meanwhile,
// so each is fixed up exactly once, as a live consumer or a stored record.
Status LocalMesh::DeleteTopic(std::string_view topic) {
  if (closing_.load(std::memory_order_acquire)) {
    return Closed("the mesh is closed");
  }
  EM_RETURN_IF_ERROR(ValidateTopic(topic).WithContext("delete topic"));
  std::string name(topic);
  std::lock_guard<std::mutex> subscribe_lock(subscribe_mu_);
  Status purged = store_->PurgeTopic(name);
  if (purged.code() == StatusCode::kNotFound) {
    return NotFound("topic '" + name + "' has no stored events to delete");
  }
  EM_RETURN_IF_ERROR(purged);

  // Events published after the purge survive it: only sequences below
  // the topic's first one now (or all, when it is still empty) are gone.
  EM_ASSIGN_OR_RETURN(std::vector<TopicInfo> topics, store_->Topics());
  uint64_t through = 0;
  for (const TopicInfo& t : topics) {
    if (t.topic != name) continue;
    through = t.count > 0 ? t.first_sequence - 1 : t.last_sequence;
  }
  for (const auto& [key, entry] : consumers_) {
    const std::shared_ptr<Consumer>& consumer = entry.second;
    if (!PatternMatches(consumer->config().pattern, name)) continue;
    EM_RETURN_IF_ERROR(consumer->DropTopic(name, through));
  }
  return DropFromStoredDurablesLocked(name);
}

// Durables with no member keep positions of removed events in their state
// record; they would be skipped at open, but the record is cleaned now so
// Groups() reports the right ack floor.
Status LocalMesh::DropFromStoredDurablesLocked(const std::string& topic) {
  constexpr std::string_view kStatePrefix = "consumer/";
  EM_ASSIGN_OR_RETURN(auto stored, store_->ListState(kStatePrefix));
  for (const auto& [key, blob] : stored) {
    Consumer::StoredState state;
    if (consumers_.count(key.substr(kStatePrefix.size())) > 0 ||
        !Consumer::ParseState(blob, &state) ||
        !PatternMatches(state.pattern, topic)) {
      continue;
    }
    std::vector<uint64_t> kept;
    for (uint64_t pos : state.pending) {
      std::vector<LogRecord> records;
      uint64_t next;
      EM_RETURN_IF_ERROR(
          store_->Read(pos, state.pattern, 1, 1, &records, &next));
      if (!records.empty() && records[0].position == pos) kept.push_back(pos);
    }
    if (kept.size() == state.pending.size()) continue;
    state.pending = std::move(kept);
    EM_RETURN_IF_ERROR(PutStateAndWait(key, Consumer::EncodeState(state)));
  }
  return Status::Ok();
}

Status LocalMesh::PutStateAndWait(std::string key, std::string value) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> stored = promise->get_future();
  store_->PutState(std::move(key), std::move(value), options_.durability,
                   [promise](Status s) { promise->set_value(std::move(s)); });
  return stored.get();
}

Status LocalMesh::SeekGroup(std::string_view durable, StartPosition position) {
  if (closing_.load(std::memory_order_acquire)) {
    return Closed("the mesh is closed");
  }
  std::string name(durable);
  EM_RETURN_IF_ERROR(ValidateDurableName(name).WithContext("seek"));
  std::lock_guard<std::mutex> subscribe_lock(subscribe_mu_);

  // A durable with members now: its consumer moves and stores itself.
  auto live = consumers_.find(name);
  if (live != consumers_.end()) {
    const std::shared_ptr<Consumer>& consumer = live->second.second;
    EM_ASSIGN_OR_RETURN(
        uint64_t target,
        SeekTargetLocked(name, consumer->config().pattern, position));
    return consumer->Seek(target);
  }

  // Otherwise its state record is rewritten.
  std::string key = "consumer/" + name;
  Result<std::string> blob = store_->GetState(key);
  if (blob.status().code() == StatusCode::kNotFound) {
    return NotFound("no durable group '" + name + "'; see the groups list");
  }
  EM_RETURN_IF_ERROR(blob.status());
  Consumer::StoredState state;
  if (!Consumer::ParseState(*blob, &state)) {
    return DataLoss("durable '" + name +
                    "' has a state record this version cannot read");
  }
  EM_ASSIGN_OR_RETURN(state.next_read,
                      SeekTargetLocked(name, state.pattern, position));
  state.pending.clear();
  return PutStateAndWait(std::move(key), Consumer::EncodeState(state));
}

// The log position a durable reading `pattern` goes on from.
Result<uint64_t> LocalMesh::SeekTargetLocked(const std::string& durable,
                                             const std::string& pattern,
                                             const StartPosition& position) {
  switch (position.kind) {
    case StartPosition::Kind::kLatest:
      return store_->Stats().next_position;
    case StartPosition::Kind::kEarliest:
      return uint64_t{0};
    case StartPosition::Kind::kTime:
      return store_->PositionAtTime(position.unix_nanos);
    case StartPosition::Kind::kSequence:
      break;
  }
  if (!ValidateTopic(pattern).ok()) {
    return InvalidArgument("durable '" + durable + "' reads pattern '" +
                           pattern +
                           "': a sequence belongs to one topic; seek to "
                           "earliest, latest or a time instead");
  }
  if (position.sequence == 0) {
    return InvalidArgument("seek: sequences start at 1");
  }
  uint64_t last = 0;
  EM_ASSIGN_OR_RETURN(std::vector<TopicInfo> topics, store_->Topics());
  for (const TopicInfo& t : topics) {
    if (t.topic == pattern) last = t.last_sequence;
  }
  if (position.sequence > last + 1) {
    return InvalidArgument("seek: topic '" + pattern + "' ends at sequence " +
                           std::to_string(last) + "; seek to at most " +
                           std::to_string(last + 1));
  }
  Result<uint64_t> at = store_->PositionOfSequence(pattern, position.sequence);
  if (at.status().code() == StatusCode::kNotFound) {
    return store_->Stats().next_position;  // the next event of the topic
  }
  return at;
}

Status LocalMesh::Close() {
  if (CallbackPool::Current() != nullptr) {
    return FailedPrecondition("Close() cannot be called from a handler");
  }
  if (closing_.exchange(true)) return Status::Ok();

  // Take every route away, so nothing new is offered.
  std::vector<std::shared_ptr<LiveQueue>> live;
  std::vector<std::shared_ptr<Consumer>> consumers;
  {
    std::lock_guard<std::mutex> subscribe_lock(subscribe_mu_);
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    for (const auto& [ptr, weak] : live_) {
      if (auto q = weak.lock()) live.push_back(std::move(q));
    }
    for (auto& [key, entry] : consumers_) consumers.push_back(entry.second);
    while (!routes_.empty()) RemoveRouteLocked(routes_.begin()->first);
    route_cache_.clear();
    live_.clear();
    groups_.clear();
    consumers_.clear();
  }

  // Stop handlers, store consumer positions, then the threads and store.
  for (auto& q : live) q->Close();
  Status status;
  for (auto& c : consumers) {
    Status s = c->Close();
    if (status.ok() && !s.ok()) status = s;
  }
  timer_.Stop();
  pool_.Stop();
  Status s = store_->Close();
  return status.ok() ? s : status;
}

}  // namespace eventmesh
