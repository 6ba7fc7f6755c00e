#include "cluster/cluster.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "eventmesh/topic.h"
#include "mesh/local_mesh.h"
#include "topic/subscription_index.h"
#include "util/log_internal.h"
#include "util/thread_name.h"

namespace eventmesh::cluster {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";
// Node-local topics (such as "$SYS.cluster.nodes") are never interest.
constexpr std::string_view kNodeLocalPrefix = "$SYS.";
constexpr size_t kMaxCachedTopics = 65536;
constexpr int kMaxMessagesPerWake = 4096;

uint64_t RandomIncarnation() {
  std::random_device rd;
  uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return v == 0 ? 1 : v;
}

std::string WithScheme(std::string address) {
  if (address.rfind("tcp://", 0) != 0) address = "tcp://" + address;
  return address;
}

// "tcp://host:0" binds to a free port ("tcp://host:*" in ZeroMQ).
std::string BindEndpoint(const std::string& listen) {
  std::string endpoint = WithScheme(listen);
  if (endpoint.size() > 2 &&
      endpoint.compare(endpoint.size() - 2, 2, ":0") == 0) {
    endpoint.replace(endpoint.size() - 1, 1, "*");
  }
  return endpoint;
}

bool IsWildcardHost(const std::string& endpoint) {
  return endpoint.find("://0.0.0.0:") != std::string::npos ||
         endpoint.find("://*:") != std::string::npos;
}

int64_t MillisSince(SteadyClock::time_point t, SteadyClock::time_point now) {
  return std::chrono::duration_cast<milliseconds>(now - t).count();
}

}  // namespace

// Where a foreign delivery's ack goes: queued for the link thread, which
// sends it to the node that stores the event. Deliveries (and so ackers)
// may outlive the cluster; after Stop() acks fail and the storing node
// redelivers after ack_wait.
class AckGate {
 public:
  explicit AckGate(Cluster::Impl* impl) : impl_(impl) {}
  Status Queue(const std::string& peer, const std::string& durable,
               DurableSettle settle);
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    impl_ = nullptr;
  }

 private:
  std::mutex mu_;
  Cluster::Impl* impl_;
};

namespace {

class RemoteAcker : public detail::Acker {
 public:
  RemoteAcker(std::shared_ptr<AckGate> gate, std::string peer,
              std::string durable)
      : gate_(std::move(gate)),
        peer_(std::move(peer)),
        durable_(std::move(durable)) {}
  Status Ack(uint64_t token) override {
    return gate_->Queue(peer_, durable_, DurableSettle{token, false, 0});
  }
  Status Nack(uint64_t token, std::chrono::milliseconds delay) override {
    uint64_t ms = static_cast<uint64_t>(std::max<int64_t>(0, delay.count()));
    return gate_->Queue(peer_, durable_, DurableSettle{token, true, ms});
  }

 private:
  std::shared_ptr<AckGate> gate_;
  std::string peer_;
  std::string durable_;
};

}  // namespace

class Cluster::Impl : public ClusterHook {
 public:
  Impl(LocalMesh* mesh, ClusterOptions options)
      : mesh_(mesh),
        options_(std::move(options)),
        node_id_(mesh->node_id()),
        incarnation_(RandomIncarnation()) {
    if (options_.heartbeat_interval.count() <= 0) {
      options_.heartbeat_interval =
          std::max(milliseconds(20), options_.down_after / 4);
    }
  }

  ~Impl() override { Stop(); }

  Status Start();
  void Stop();
  ClusterStats Stats() const;

  // ClusterHook: both run under the mesh's routing lock.
  void OnLocalEvent(const EventPtr& event, uint64_t) override {
    if (!any_remote_interest_.load(std::memory_order_relaxed)) return;
    std::lock_guard<std::mutex> lock(in_mu_);
    pending_events_.push_back(event);
    WakeLocked();
  }
  void OnInterest(const Interest& interest, bool added) override {
    if (interest.pattern.rfind(kNodeLocalPrefix, 0) == 0) return;
    std::lock_guard<std::mutex> lock(in_mu_);
    pending_interest_.push_back(InterestChange{added, interest});
    WakeLocked();
  }

  void AppendLinkStats(std::vector<LinkStats>* links) const override;

  // From AckGate: an ack or nack of a foreign delivery, for `peer`.
  void QueueSettle(const std::string& peer, const std::string& durable,
                   DurableSettle settle) {
    std::lock_guard<std::mutex> lock(in_mu_);
    pending_settles_.push_back(OutSettle{peer, durable, settle});
    WakeLocked();
  }

  const std::string& node_id() const { return node_id_; }
  const std::string& address() const { return address_; }

 private:
  struct Peer {
    std::string id;
    uint64_t incarnation = 0;
    std::string address;
    std::string client_address;
    bool up = false;
    SteadyClock::time_point last_heard{};
    bool ever_heard = false;
    Load load;
    // Its interest as last synchronised, with our index entry ids.
    bool interest_known = false;
    uint64_t interest_version = 0;
    std::map<Interest, uint64_t> interest;
    SteadyClock::time_point last_resync{};
    // Link counters.
    uint64_t events_sent = 0, events_received = 0, events_dropped = 0;
    uint64_t messages_sent = 0, messages_received = 0;
  };
  struct Link {
    std::unique_ptr<zmq::socket_t> dealer;
  };
  struct IndexEntry {
    std::string peer;
    Interest interest;
  };
  struct CachedMatch {
    uint64_t generation = 0;
    std::vector<uint64_t> entries;
  };
  // Events for one peer, being gathered into a message.
  struct Outgoing {
    std::vector<std::string> frames;
  };
  // A delivery of one of our consumers to a remote member (another node).
  struct OutDelivery {
    std::string peer;
    std::string durable;
    uint64_t position;
    uint32_t attempt;
    EventPtr event;
  };
  // An ack or nack, by a local member, of a delivery from `peer`.
  struct OutSettle {
    std::string peer;
    std::string durable;
    DurableSettle settle;
  };
  // A remote member to add or remove (the mesh is called outside
  // state_mu_).
  struct DurableAction {
    bool add;
    std::string peer;
    Interest interest;
  };
  // What one drain of the router hands to the mesh.
  struct Inbound {
    std::vector<RemoteEvent> events;
    std::vector<std::pair<std::string, std::vector<Delivery>>> deliveries;
    std::vector<DurableAcks> acks;
  };

  void WakeLocked() {
    if (wake_pending_) return;
    wake_pending_ = true;
    uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof(one));
    (void)n;
  }

  void Run();
  void SampleLoad(SteadyClock::time_point now);
  void OnTick(SteadyClock::time_point now);
  void DrainRouter();
  void HandleMessage(Message& m, Inbound* inbound);
  void HandleDurableEvents(Peer* peer, Message& m, Inbound* inbound);
  void DeliverInbound(Inbound* inbound);
  void RunDurableActions();
  void AddRemoteMember(const std::string& peer, const Interest& interest);
  void SendDurable(std::vector<OutDelivery>* deliveries);
  void SendSettles(std::vector<OutSettle>* settles);
  void HandleHello(Peer* peer, const Hello& hello);
  void HandleInterest(Peer* peer, const InterestUpdate& update);
  void HandleZap();
  void ProcessPending();
  void ApplyLocalInterest(const std::vector<InterestChange>& changes);
  void ForwardEvents(const std::vector<EventPtr>& events);

  Peer* PeerFor(const Header& header, SteadyClock::time_point now);
  void MarkHeard(Peer* peer, SteadyClock::time_point now);
  void MarkDown(Peer* peer, const char* why);
  void DropInterest(Peer* peer);
  void AddPeerInterest(Peer* peer, const Interest& interest);
  void RemovePeerInterest(Peer* peer, const Interest& interest);
  void EnsureLink(const std::string& address);
  void RequestResync(Peer* peer, SteadyClock::time_point now, bool force);
  void SendFullInterest(Peer* peer);
  Hello MakeHello();
  // Sends header + frames to the link at `address`; false when the link's
  // queue is full or it is not connected.
  bool Send(const std::string& address, MessageType type,
            std::vector<std::string>* frames);
  bool SendToPeer(Peer* peer, MessageType type,
                  std::vector<std::string>* frames) {
    if (peer->address.empty()) return false;
    bool sent = Send(peer->address, type, frames);
    if (sent) ++peer->messages_sent;
    return sent;
  }

  LocalMesh* mesh_;
  ClusterOptions options_;
  const std::string node_id_;
  const uint64_t incarnation_;
  std::string address_;

  zmq::context_t context_;
  std::unique_ptr<zmq::socket_t> router_;
  std::unique_ptr<zmq::socket_t> zap_;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool attached_ = false;

  // From the mesh's threads to the link thread.
  std::mutex in_mu_;
  bool wake_pending_ = false;
  std::vector<EventPtr> pending_events_;
  std::vector<InterestChange> pending_interest_;
  std::vector<OutDelivery> pending_deliveries_;
  std::vector<OutSettle> pending_settles_;
  std::atomic<bool> any_remote_interest_{false};

  // Durable groups across nodes: the remote members our consumers keep
  // for other nodes' durables, by (node id, durable name). The link
  // thread changes them; remote_mu_ lets Stats() read them.
  std::vector<DurableAction> durable_actions_;  // state_mu_
  mutable std::mutex remote_mu_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Subscription>>
      remote_members_;
  std::shared_ptr<AckGate> ack_gate_ = std::make_shared<AckGate>(this);

  // Link thread state; state_mu_ lets Stats() read it.
  mutable std::mutex state_mu_;
  std::map<std::string, Peer> peers_;  // by node id
  std::map<std::string, Link> links_;  // by address
  std::map<Interest, int> local_;      // local interest, counted
  uint64_t local_version_ = 0;
  SubscriptionIndex index_;
  std::unordered_map<uint64_t, IndexEntry> entries_;
  uint64_t next_entry_ = 1;
  std::unordered_map<std::string, CachedMatch> match_cache_;
  std::map<std::string, uint64_t> round_robin_;
  Load self_load_;
  uint64_t last_published_ = 0;
  SteadyClock::time_point last_load_{};
  uint64_t bad_messages_ = 0;
  uint64_t auth_refused_ = 0;
};

// --- Start and stop ---------------------------------------------------------

Status Cluster::Impl::Start() {
  const CurveOptions& curve = options_.curve;
  if (curve.enabled() &&
      (curve.server_secret.size() != 40 || curve.server_public.size() != 40 ||
       curve.public_key.size() != 40 || curve.secret_key.size() != 40)) {
    return InvalidArgument(
        "cluster: CURVE needs server_public, server_secret, public_key and "
        "secret_key, each 40 characters of Z85 (make them with "
        "zmq_curve_keypair)");
  }
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Internal("cluster: eventfd failed");
  std::string endpoint = BindEndpoint(options_.listen);
  try {
    if (curve.enabled()) {
      zap_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::rep);
      zap_->set(zmq::sockopt::linger, 0);
      zap_->bind(kZapEndpoint);
    }
    router_ =
        std::make_unique<zmq::socket_t>(context_, zmq::socket_type::router);
    router_->set(zmq::sockopt::linger, 0);
    router_->set(zmq::sockopt::rcvhwm, options_.send_hwm);
    if (curve.enabled()) {
      router_->set(zmq::sockopt::curve_server, 1);
      router_->set(zmq::sockopt::curve_secretkey, curve.server_secret);
      router_->set(zmq::sockopt::zap_domain, "eventmesh-cluster");
    }
    router_->bind(endpoint);
    address_ = router_->get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return InvalidArgument("cluster: cannot listen on '" + endpoint + "': " +
                           e.what() + "; pick a free port in [cluster] listen");
  }
  if (!options_.advertise.empty()) {
    address_ = WithScheme(options_.advertise);
  } else if (IsWildcardHost(address_)) {
    return InvalidArgument("cluster: listen '" + options_.listen +
                           "' is a wildcard address; set [cluster] advertise "
                           "to the address peers should connect to");
  }

  // Interest that exists already, then every change through the hook.
  std::vector<Interest> current = mesh_->AttachCluster(this);
  attached_ = true;
  std::vector<InterestChange> initial;
  for (Interest& i : current) {
    if (i.pattern.rfind(kNodeLocalPrefix, 0) == 0) continue;
    initial.push_back(InterestChange{true, std::move(i)});
  }
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    for (const InterestChange& c : initial) ++local_[c.interest];
    local_version_ = 1;
    for (const std::string& seed : options_.seeds) {
      std::string a = WithScheme(seed);
      if (a != address_) EnsureLink(a);
    }
  }
  started_ = true;
  thread_ = std::thread([this] { Run(); });
  EM_LOG(kInfo, "cluster",
         "node " << node_id_ << " listening " << address_ << " ("
                 << options_.seeds.size() << " seeds"
                 << (curve.enabled() ? ", CURVE" : "") << ")");
  return Status::Ok();
}

void Cluster::Impl::Stop() {
  if (attached_) {
    mesh_->AttachCluster(nullptr);
    attached_ = false;
  }
  if (started_) {
    stopping_.store(true);
    {
      std::lock_guard<std::mutex> lock(in_mu_);
      wake_pending_ = false;
      WakeLocked();
    }
    thread_.join();
    started_ = false;
  }
  ack_gate_->Close();
  // Their in-flight events go back to other members (or stay in the
  // consumers' stored state).
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Subscription>>
      members;
  {
    std::lock_guard<std::mutex> lock(remote_mu_);
    members.swap(remote_members_);
  }
  members.clear();
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    links_.clear();
  }
  router_.reset();
  zap_.reset();
  if (wake_fd_ >= 0) {
    close(wake_fd_);
    wake_fd_ = -1;
  }
}

// --- The link thread --------------------------------------------------------

void Cluster::Impl::Run() {
  NameThisThread("em-cluster");
  auto next_tick = SteadyClock::now();
  while (!stopping_.load()) {
    auto now = SteadyClock::now();
    if (now >= next_tick) {
      SampleLoad(now);  // asks the mesh, which may ask us: not under state_mu_
      std::lock_guard<std::mutex> lock(state_mu_);
      OnTick(now);
      next_tick = now + options_.heartbeat_interval;
    }
    zmq_pollitem_t items[3] = {
        {router_->handle(), 0, ZMQ_POLLIN, 0},
        {nullptr, wake_fd_, ZMQ_POLLIN, 0},
        {zap_ ? zap_->handle() : nullptr, -1, ZMQ_POLLIN, 0},
    };
    long timeout = std::max<int64_t>(0, MillisSince(now, next_tick)) + 1;
    int n = zmq_poll(items, zap_ ? 3 : 2, timeout);
    if (n < 0) continue;  // EINTR
    if (items[1].revents & ZMQ_POLLIN) {
      uint64_t value;
      ssize_t r = read(wake_fd_, &value, sizeof(value));
      (void)r;
      ProcessPending();
    }
    if (items[0].revents & ZMQ_POLLIN) DrainRouter();
    if (zap_ && (items[2].revents & ZMQ_POLLIN)) HandleZap();
    RunDurableActions();
  }
}

// Our load, from the mesh's counters.
void Cluster::Impl::SampleLoad(SteadyClock::time_point now) {
  Result<MeshStats> stats = mesh_->Stats();
  uint64_t connections = options_.connections ? options_.connections() : 0;
  std::lock_guard<std::mutex> lock(state_mu_);
  if (stats.ok()) {
    double seconds =
        last_load_ == SteadyClock::time_point{}
            ? 0
            : std::chrono::duration<double>(now - last_load_).count();
    if (seconds > 0) {
      self_load_.events_per_s =
          static_cast<uint64_t>((stats->published - last_published_) / seconds);
    }
    last_published_ = stats->published;
    last_load_ = now;
    self_load_.subscriptions = stats->subscriptions;
  }
  self_load_.connections = connections;
}

void Cluster::Impl::OnTick(SteadyClock::time_point now) {
  for (auto& [id, peer] : peers_) {
    if (peer.up && now - peer.last_heard > options_.down_after) {
      MarkDown(&peer, "no heartbeat");
    }
  }
  std::string hello = EncodeHello(MakeHello());
  for (auto& [address, link] : links_) {
    std::vector<std::string> frames{hello};
    Send(address, MessageType::kHeartbeat, &frames);
  }
}

Hello Cluster::Impl::MakeHello() {
  Hello h;
  h.address = address_;
  h.client_address = options_.client_address;
  h.load = self_load_;
  h.interest_version = local_version_;
  for (const auto& [id, peer] : peers_) {
    if (peer.address.empty()) continue;
    h.known.push_back(NodeRef{id, peer.incarnation, peer.address});
  }
  return h;
}

bool Cluster::Impl::Send(const std::string& address, MessageType type,
                         std::vector<std::string>* frames) {
  auto it = links_.find(address);
  if (it == links_.end()) return false;
  zmq::socket_t& s = *it->second.dealer;
  std::string header = EncodeHeader(Header{type, node_id_, incarnation_});
  try {
    auto more = frames->empty()
                    ? zmq::send_flags::dontwait
                    : zmq::send_flags::dontwait | zmq::send_flags::sndmore;
    if (!s.send(zmq::buffer(header), more)) return false;
    for (size_t i = 0; i < frames->size(); ++i) {
      auto flags = i + 1 < frames->size()
                       ? zmq::send_flags::dontwait | zmq::send_flags::sndmore
                       : zmq::send_flags::dontwait;
      s.send(zmq::buffer((*frames)[i]), flags);
    }
  } catch (const zmq::error_t& e) {
    EM_LOG(kWarn, "cluster", "send to " << address << ": " << e.what());
    return false;
  }
  return true;
}

void Cluster::Impl::EnsureLink(const std::string& address) {
  if (address.empty() || address == address_ || links_.count(address)) return;
  auto dealer =
      std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
  dealer->set(zmq::sockopt::linger, 0);
  dealer->set(zmq::sockopt::sndhwm, options_.send_hwm);
  // Nothing queues for a peer that is not connected: stale events and
  // interest must not arrive after a restart.
  dealer->set(zmq::sockopt::immediate, 1);
  dealer->set(zmq::sockopt::reconnect_ivl, 100);
  dealer->set(zmq::sockopt::reconnect_ivl_max, 1000);
  const CurveOptions& curve = options_.curve;
  if (curve.enabled()) {
    dealer->set(zmq::sockopt::curve_serverkey, curve.server_public);
    dealer->set(zmq::sockopt::curve_publickey, curve.public_key);
    dealer->set(zmq::sockopt::curve_secretkey, curve.secret_key);
  }
  try {
    dealer->connect(address);
  } catch (const zmq::error_t& e) {
    EM_LOG(kWarn, "cluster",
           "cannot connect to '" << address << "': " << e.what());
    return;
  }
  links_[address].dealer = std::move(dealer);
}

void Cluster::Impl::DrainRouter() {
  Inbound inbound;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    std::vector<zmq::message_t> parts;
    for (int i = 0; i < kMaxMessagesPerWake; ++i) {
      parts.clear();
      auto got = zmq::recv_multipart(*router_, std::back_inserter(parts),
                                     zmq::recv_flags::dontwait);
      if (!got) break;
      std::vector<std::string_view> frames;
      for (size_t f = 1; f < parts.size(); ++f) {  // 0: ROUTER identity
        frames.emplace_back(parts[f].data<char>(), parts[f].size());
      }
      Result<Message> m = DecodeMessage(frames);
      if (!m.ok()) {
        if (bad_messages_++ < 10) {
          EM_LOG(kWarn, "cluster", m.status().ToString());
        }
        continue;
      }
      HandleMessage(*m, &inbound);
    }
  }
  DeliverInbound(&inbound);
}

// Outside state_mu_: delivery takes the mesh's lock, which our hook is
// called under. A full kBlock subscription may hold this thread for half a
// heartbeat interval per wake-up, no longer: heartbeats and the other
// peers' traffic go on, and what a stuck subscriber cannot take is dropped
// for it, as NATS does for a slow consumer.
void Cluster::Impl::DeliverInbound(Inbound* inbound) {
  if (!inbound->events.empty()) {
    mesh_->InjectRemote(inbound->events,
                        SteadyClock::now() + options_.heartbeat_interval / 2);
  }
  // Without local members of the durable, they go straight back.
  for (auto& [durable, deliveries] : inbound->deliveries) {
    if (mesh_->OfferRemoteDurable(durable, deliveries)) continue;
    for (const Delivery& d : deliveries) d.Nack().IgnoreError();
  }
  for (const DurableAcks& a : inbound->acks) {
    std::vector<uint64_t> acks;
    std::vector<std::pair<uint64_t, milliseconds>> nacks;
    for (const DurableSettle& settle : a.settles) {
      if (settle.nack) {
        nacks.emplace_back(settle.position, milliseconds(std::min<uint64_t>(
                                                settle.delay_ms, 86400000)));
      } else {
        acks.push_back(settle.position);
      }
    }
    mesh_->SettleRemoteDurable(a.durable, acks, nacks);
  }
}

Cluster::Impl::Peer* Cluster::Impl::PeerFor(const Header& header,
                                            SteadyClock::time_point now) {
  auto [it, inserted] = peers_.try_emplace(header.node_id);
  Peer* peer = &it->second;
  if (inserted) {
    peer->id = header.node_id;
    peer->incarnation = header.incarnation;
  } else if (peer->incarnation != header.incarnation) {
    // A restarted process: nothing of the old one is kept.
    if (peer->ever_heard) {
      EM_LOG(kInfo, "cluster", "node " << peer->id << " restarted");
    }
    DropInterest(peer);
    peer->incarnation = header.incarnation;
    peer->up = false;
  }
  (void)now;
  return peer;
}

// Takes the events out of `m`.
void Cluster::Impl::HandleMessage(Message& m, Inbound* inbound) {
  if (m.header.node_id == node_id_) return;  // a seed that is this node
  auto now = SteadyClock::now();
  Peer* peer = PeerFor(m.header, now);
  ++peer->messages_received;
  switch (m.header.type) {
    case MessageType::kHello:
    case MessageType::kHeartbeat:
      HandleHello(peer, m.hello);
      MarkHeard(peer, now);
      if (!peer->interest_known ||
          peer->interest_version != m.hello.interest_version) {
        RequestResync(peer, now, false);
      }
      return;
    case MessageType::kInterest:
      MarkHeard(peer, now);
      HandleInterest(peer, m.interest);
      return;
    case MessageType::kResync:
      MarkHeard(peer, now);
      SendFullInterest(peer);
      return;
    case MessageType::kEvents:
      MarkHeard(peer, now);
      peer->events_received += m.events.size();
      {
        // The message's events stay where they were decoded, in one
        // allocation each of them shares through an aliasing pointer.
        auto holder =
            std::make_shared<std::vector<WireEvent>>(std::move(m.events));
        for (WireEvent& e : *holder) {
          RemoteEvent r;
          r.event = EventPtr(holder, &e.event);
          r.broadcast = e.broadcast;
          r.groups = std::move(e.groups);
          inbound->events.push_back(std::move(r));
        }
      }
      return;
    case MessageType::kDurableEvents:
      MarkHeard(peer, now);
      HandleDurableEvents(peer, m, inbound);
      return;
    case MessageType::kDurableAcks:
      MarkHeard(peer, now);
      for (const DurableAcks& a : m.acks) inbound->acks.push_back(a);
      return;
  }
}

// Deliveries of the peer's consumers to our members; each carries an
// acker that sends its ack back to the peer.
void Cluster::Impl::HandleDurableEvents(Peer* peer, Message& m,
                                        Inbound* inbound) {
  std::map<std::string, size_t> slot;  // durable name -> index in inbound
  std::map<std::string, std::shared_ptr<detail::Acker>> ackers;
  for (DurableDelivery& d : m.deliveries) {
    auto [it, fresh] = slot.emplace(d.durable, inbound->deliveries.size());
    if (fresh) {
      inbound->deliveries.emplace_back(d.durable, std::vector<Delivery>{});
      ackers[d.durable] =
          std::make_shared<RemoteAcker>(ack_gate_, peer->id, d.durable);
    }
    inbound->deliveries[it->second].second.emplace_back(
        std::make_shared<Event>(std::move(d.event)), d.attempt,
        ackers[d.durable], d.position);
  }
  peer->events_received += m.deliveries.size();
}

void Cluster::Impl::HandleHello(Peer* peer, const Hello& hello) {
  if (!hello.address.empty() && hello.address != peer->address) {
    peer->address = hello.address;
    EnsureLink(peer->address);
  }
  peer->client_address = hello.client_address;
  peer->load = hello.load;
  // Gossip: nodes we have not heard of.
  for (const NodeRef& ref : hello.known) {
    if (ref.node_id == node_id_ || peers_.count(ref.node_id)) continue;
    Peer& p = peers_[ref.node_id];
    p.id = ref.node_id;
    p.incarnation = ref.incarnation;
    p.address = ref.address;
    EnsureLink(p.address);
  }
}

void Cluster::Impl::MarkHeard(Peer* peer, SteadyClock::time_point now) {
  peer->last_heard = now;
  peer->ever_heard = true;
  if (peer->up) return;
  peer->up = true;
  EM_LOG(kInfo, "cluster", "node " << peer->id << " up at " << peer->address);
  RequestResync(peer, now, true);
}

void Cluster::Impl::MarkDown(Peer* peer, const char* why) {
  peer->up = false;
  DropInterest(peer);
  EM_LOG(kWarn, "cluster",
         "node " << peer->id << " down (" << why << "); its interest dropped");
}

void Cluster::Impl::DropInterest(Peer* peer) {
  for (const auto& [interest, entry] : peer->interest) {
    if (interest.durable) {
      durable_actions_.push_back(DurableAction{false, peer->id, interest});
      continue;
    }
    index_.Remove(interest.pattern, entry);
    entries_.erase(entry);
  }
  peer->interest.clear();
  peer->interest_known = false;
  peer->interest_version = 0;
  any_remote_interest_.store(!index_.empty());
}

void Cluster::Impl::AddPeerInterest(Peer* peer, const Interest& interest) {
  if (!ValidatePattern(interest.pattern).ok()) return;
  if (peer->interest.count(interest)) return;
  if (interest.durable) {
    peer->interest[interest] = 0;
    durable_actions_.push_back(DurableAction{true, peer->id, interest});
    return;
  }
  uint64_t entry = next_entry_++;
  peer->interest[interest] = entry;
  entries_[entry] = IndexEntry{peer->id, interest};
  index_.Add(interest.pattern, entry);
}

void Cluster::Impl::RemovePeerInterest(Peer* peer, const Interest& interest) {
  auto it = peer->interest.find(interest);
  if (it == peer->interest.end()) return;
  if (interest.durable) {
    durable_actions_.push_back(DurableAction{false, peer->id, interest});
  } else {
    index_.Remove(interest.pattern, it->second);
    entries_.erase(it->second);
  }
  peer->interest.erase(it);
}

void Cluster::Impl::HandleInterest(Peer* peer, const InterestUpdate& update) {
  if (update.full) {
    // Only what changed: durable remote members in particular keep their
    // deliveries in flight across a resync.
    std::set<Interest> wanted;
    for (const InterestChange& c : update.changes) {
      if (c.added) wanted.insert(c.interest);
    }
    std::vector<Interest> gone;
    for (const auto& [interest, entry] : peer->interest) {
      if (!wanted.count(interest)) gone.push_back(interest);
    }
    for (const Interest& i : gone) RemovePeerInterest(peer, i);
  } else if (!peer->interest_known || peer->interest_version != update.base) {
    RequestResync(peer, SteadyClock::now(), false);
    return;
  }
  for (const InterestChange& c : update.changes) {
    if (c.added) {
      AddPeerInterest(peer, c.interest);
    } else {
      RemovePeerInterest(peer, c.interest);
    }
  }
  peer->interest_known = true;
  peer->interest_version = update.version;
  any_remote_interest_.store(!index_.empty());
}

void Cluster::Impl::RequestResync(Peer* peer, SteadyClock::time_point now,
                                  bool force) {
  // One request per heartbeat interval is enough: the answer replaces all.
  if (!force && now - peer->last_resync < options_.heartbeat_interval) return;
  std::vector<std::string> none;
  // A link still connecting refuses the send; the next heartbeat retries.
  if (SendToPeer(peer, MessageType::kResync, &none)) peer->last_resync = now;
}

void Cluster::Impl::SendFullInterest(Peer* peer) {
  InterestUpdate update;
  update.full = true;
  update.version = local_version_;
  for (const auto& [interest, count] : local_) {
    update.changes.push_back(InterestChange{true, interest});
  }
  std::vector<std::string> frames{EncodeInterest(update)};
  SendToPeer(peer, MessageType::kInterest, &frames);
}

void Cluster::Impl::HandleZap() {
  std::vector<zmq::message_t> parts;
  if (!zmq::recv_multipart(*zap_, std::back_inserter(parts),
                           zmq::recv_flags::dontwait)) {
    return;
  }
  if (parts.size() < 6) return;
  bool allowed = false;
  if (parts[5].to_string() == "CURVE" && parts.size() >= 7 &&
      parts[6].size() == 32) {
    char z85[41];
    zmq_z85_encode(z85, parts[6].data<uint8_t>(), 32);
    const auto& list = options_.curve.allowed;
    allowed = list.empty() || std::find(list.begin(), list.end(),
                                        std::string(z85)) != list.end();
    if (!allowed) {
      std::lock_guard<std::mutex> lock(state_mu_);
      if (auth_refused_++ < 10) {
        EM_LOG(kWarn, "cluster",
               "refused a link from " << parts[3].to_string() << ": public key "
                                      << z85
                                      << " is not in [cluster] curve_allowed");
      }
    }
  }
  std::vector<std::string> reply = {"1.0",
                                    parts[1].to_string(),
                                    allowed ? "200" : "400",
                                    allowed ? "OK" : "key not allowed",
                                    "",
                                    ""};
  for (size_t i = 0; i < reply.size(); ++i) {
    zap_->send(zmq::buffer(reply[i]), i + 1 < reply.size()
                                          ? zmq::send_flags::sndmore
                                          : zmq::send_flags::none);
  }
}

// --- Local interest and events ---------------------------------------------

void Cluster::Impl::ProcessPending() {
  std::vector<EventPtr> events;
  std::vector<InterestChange> interest;
  std::vector<OutDelivery> deliveries;
  std::vector<OutSettle> settles;
  {
    std::lock_guard<std::mutex> lock(in_mu_);
    wake_pending_ = false;
    events.swap(pending_events_);
    interest.swap(pending_interest_);
    deliveries.swap(pending_deliveries_);
    settles.swap(pending_settles_);
  }
  std::lock_guard<std::mutex> lock(state_mu_);
  if (!interest.empty()) ApplyLocalInterest(interest);
  if (!events.empty()) ForwardEvents(events);
  if (!deliveries.empty()) SendDurable(&deliveries);
  if (!settles.empty()) SendSettles(&settles);
}

// --- Durable groups across nodes --------------------------------------------

void Cluster::Impl::RunDurableActions() {
  std::vector<DurableAction> actions;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    actions.swap(durable_actions_);
  }
  for (const DurableAction& a : actions) {
    if (a.add) {
      AddRemoteMember(a.peer, a.interest);
      continue;
    }
    std::unique_ptr<Subscription> member;
    {
      std::lock_guard<std::mutex> lock(remote_mu_);
      auto it = remote_members_.find({a.peer, a.interest.group});
      if (it == remote_members_.end()) continue;
      member = std::move(it->second);
      remote_members_.erase(it);
    }
    // Its events in flight go back to the other members now.
    member->Unsubscribe().IgnoreError();
  }
}

// Our consumer of the durable gets a member standing for the peer's
// members: what it reads from our store travels to them.
void Cluster::Impl::AddRemoteMember(const std::string& peer,
                                    const Interest& interest) {
  {
    std::lock_guard<std::mutex> lock(remote_mu_);
    if (remote_members_.count({peer, interest.group})) return;
  }
  auto sink = [this, peer, durable = interest.group](
                  const std::vector<Delivery>& deliveries,
                  const std::vector<uint64_t>& positions) {
    std::lock_guard<std::mutex> lock(in_mu_);
    for (size_t i = 0; i < deliveries.size(); ++i) {
      pending_deliveries_.push_back(OutDelivery{peer, durable, positions[i],
                                                deliveries[i].attempt(),
                                                deliveries[i].event_ptr()});
    }
    WakeLocked();
  };
  auto member = mesh_->AddRemoteMember(interest, std::move(sink));
  if (!member.ok()) {
    EM_LOG(kWarn, "cluster",
           "node " << peer << " has members of durable '" << interest.group
                   << "' that this node cannot serve: "
                   << member.status().ToString());
    return;
  }
  std::lock_guard<std::mutex> lock(remote_mu_);
  remote_members_[{peer, interest.group}] = std::move(member).value();
}

void Cluster::Impl::SendDurable(std::vector<OutDelivery>* deliveries) {
  std::map<std::string, Outgoing> out;  // by peer id
  auto flush = [&](const std::string& peer_id, Outgoing* o) {
    auto it = peers_.find(peer_id);
    size_t n = o->frames.size();
    // Not sent: it stays in flight and is redelivered after ack_wait.
    if (it != peers_.end() && it->second.up &&
        SendToPeer(&it->second, MessageType::kDurableEvents, &o->frames)) {
      it->second.events_sent += n;
    } else if (it != peers_.end()) {
      it->second.events_dropped += n;
    }
    o->frames.clear();
  };
  for (const OutDelivery& d : *deliveries) {
    Outgoing& o = out[d.peer];
    std::string frame;
    AppendDurablePrefix(d.durable, d.position, d.attempt, &frame);
    AppendBinary(*d.event, &frame);
    o.frames.push_back(std::move(frame));
    if (o.frames.size() >= options_.max_batch) flush(d.peer, &o);
  }
  for (auto& [peer_id, o] : out) {
    if (!o.frames.empty()) flush(peer_id, &o);
  }
}

// One message per peer, one frame per durable name. An ack that cannot be
// sent is lost: the storing node redelivers after ack_wait.
void Cluster::Impl::SendSettles(std::vector<OutSettle>* settles) {
  std::map<std::string, std::map<std::string, DurableAcks>> by_peer;
  for (OutSettle& s : *settles) {
    DurableAcks& acks = by_peer[s.peer][s.durable];
    acks.durable = s.durable;
    acks.settles.push_back(s.settle);
  }
  for (auto& [peer_id, by_durable] : by_peer) {
    auto it = peers_.find(peer_id);
    if (it == peers_.end()) continue;
    std::vector<std::string> frames;
    for (auto& [durable, acks] : by_durable) {
      frames.push_back(EncodeDurableAcks(acks));
    }
    SendToPeer(&it->second, MessageType::kDurableAcks, &frames);
  }
}

void Cluster::Impl::ApplyLocalInterest(
    const std::vector<InterestChange>& changes) {
  // Only first additions and last removals change what peers see.
  InterestUpdate update;
  for (const InterestChange& c : changes) {
    int& count = local_[c.interest];
    if (c.added && ++count == 1) update.changes.push_back(c);
    if (!c.added && --count == 0) {
      local_.erase(c.interest);
      update.changes.push_back(c);
    }
  }
  if (update.changes.empty()) return;
  update.base = local_version_;
  update.version = ++local_version_;
  std::string body = EncodeInterest(update);
  for (auto& [id, peer] : peers_) {
    if (!peer.up) continue;
    std::vector<std::string> frames{body};
    SendToPeer(&peer, MessageType::kInterest, &frames);
  }
}

void Cluster::Impl::ForwardEvents(const std::vector<EventPtr>& events) {
  std::map<std::string, Outgoing> out;  // by peer id
  std::map<std::string, bool> broadcast;
  std::map<std::string, std::vector<std::string>> groups;
  std::map<std::string, std::vector<std::string>> candidates;  // group key
  auto flush = [&](const std::string& peer_id, Outgoing* o) {
    Peer& peer = peers_[peer_id];
    size_t n = o->frames.size();
    if (SendToPeer(&peer, MessageType::kEvents, &o->frames)) {
      peer.events_sent += n;
    } else {
      peer.events_dropped += n;
    }
    o->frames.clear();
  };

  for (const EventPtr& event : events) {
    auto it = match_cache_.find(event->topic);
    if (it == match_cache_.end()) {
      if (match_cache_.size() >= kMaxCachedTopics) match_cache_.clear();
      it = match_cache_.emplace(event->topic, CachedMatch{}).first;
      it->second.generation = index_.generation() + 1;
    }
    CachedMatch& cached = it->second;
    if (cached.generation != index_.generation()) {
      cached.entries.clear();
      index_.Match(event->topic, &cached.entries);
      cached.generation = index_.generation();
    }
    if (cached.entries.empty()) continue;

    // Which peers get it, and for which routes.
    broadcast.clear();
    groups.clear();
    candidates.clear();
    for (uint64_t id : cached.entries) {
      const IndexEntry& e = entries_.at(id);
      if (e.interest.group.empty()) {
        broadcast[e.peer] = true;
      } else if (!local_.count(e.interest)) {  // local members come first
        candidates[e.interest.GroupKey()].push_back(e.peer);
      }
    }
    for (auto& [key, peers] : candidates) {
      std::sort(peers.begin(), peers.end());
      const std::string& chosen = peers[round_robin_[key]++ % peers.size()];
      groups[chosen].push_back(key);
    }
    std::string encoded;
    AppendBinary(*event, &encoded);
    auto add = [&](const std::string& peer_id, bool all,
                   const std::vector<std::string>& keys) {
      Outgoing& o = out[peer_id];
      std::string frame;
      frame.reserve(encoded.size() + 16);
      AppendEventPrefix(all, keys, &frame);
      frame += encoded;
      o.frames.push_back(std::move(frame));
      if (o.frames.size() >= options_.max_batch) flush(peer_id, &o);
    };
    static const std::vector<std::string> kNoGroups;
    for (const auto& [peer_id, all] : broadcast) {
      auto g = groups.find(peer_id);
      add(peer_id, true, g == groups.end() ? kNoGroups : g->second);
    }
    for (const auto& [peer_id, keys] : groups) {
      if (!broadcast.count(peer_id)) add(peer_id, false, keys);
    }
  }
  for (auto& [peer_id, o] : out) {
    if (!o.frames.empty()) flush(peer_id, &o);
  }
}

// --- Stats ------------------------------------------------------------------

ClusterStats Cluster::Impl::Stats() const {
  ClusterStats stats;
  auto now = SteadyClock::now();
  std::lock_guard<std::mutex> lock(state_mu_);
  NodeStatus self;
  self.node_id = node_id_;
  self.incarnation = incarnation_;
  self.address = address_;
  self.client_address = options_.client_address;
  self.self = true;
  self.up = true;
  self.last_heard_ms = 0;
  self.load = self_load_;
  self.interest = local_.size();
  stats.nodes.push_back(std::move(self));
  for (const auto& [id, peer] : peers_) {
    NodeStatus n;
    n.node_id = id;
    n.incarnation = peer.incarnation;
    n.address = peer.address;
    n.client_address = peer.client_address;
    n.up = peer.up;
    n.last_heard_ms = peer.ever_heard ? MillisSince(peer.last_heard, now) : -1;
    n.load = peer.load;
    n.interest = peer.interest.size();
    n.events_sent = peer.events_sent;
    n.events_received = peer.events_received;
    n.events_dropped = peer.events_dropped;
    n.messages_sent = peer.messages_sent;
    n.messages_received = peer.messages_received;
    stats.nodes.push_back(std::move(n));
  }
  stats.bad_messages = bad_messages_;
  stats.auth_refused = auth_refused_;
  return stats;
}

void Cluster::Impl::AppendLinkStats(std::vector<LinkStats>* links) const {
  auto now = SteadyClock::now();
  std::lock_guard<std::mutex> lock(state_mu_);
  for (const auto& [id, peer] : peers_) {
    LinkStats& l = links->emplace_back();
    l.node = id;
    l.up = peer.up;
    l.last_heard_ms = peer.ever_heard ? MillisSince(peer.last_heard, now) : -1;
    l.interest = peer.interest.size();
    l.events_sent = peer.events_sent;
    l.events_received = peer.events_received;
    l.events_dropped = peer.events_dropped;
    l.messages_sent = peer.messages_sent;
    l.messages_received = peer.messages_received;
  }
  std::lock_guard<std::mutex> members_lock(remote_mu_);
  for (const auto& [key, member] : remote_members_) {
    uint64_t in_flight = member->Stats().in_flight;
    for (LinkStats& l : *links) {
      if (l.node == key.first) l.in_flight += in_flight;
    }
  }
}

// --- Cluster ----------------------------------------------------------------

Result<std::unique_ptr<Cluster>> Cluster::Start(LocalMesh* mesh,
                                                ClusterOptions options) {
  if (mesh == nullptr) {
    return InvalidArgument("cluster: needs an embedded (local) mesh");
  }
  if (options.down_after.count() <= 0) {
    return InvalidArgument("cluster: down_after must be positive");
  }
  auto impl = std::make_unique<Impl>(mesh, std::move(options));
  Status s = impl->Start();
  if (!s.ok()) {
    impl->Stop();
    return s;
  }
  return std::unique_ptr<Cluster>(new Cluster(std::move(impl)));
}

Cluster::Cluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Cluster::~Cluster() { Stop(); }
void Cluster::Stop() { impl_->Stop(); }
const std::string& Cluster::node_id() const { return impl_->node_id(); }
const std::string& Cluster::address() const { return impl_->address(); }
ClusterStats Cluster::Stats() const { return impl_->Stats(); }

std::string Cluster::StatsJson() const {
  ClusterStats stats = Stats();
  nlohmann::json nodes = nlohmann::json::array();
  const NodeStatus* best = nullptr;
  for (const NodeStatus& n : stats.nodes) {
    nodes.push_back({{"id", n.node_id},
                     {"incarnation", n.incarnation},
                     {"address", n.address},
                     {"client_address", n.client_address},
                     {"self", n.self},
                     {"state", n.up ? "up" : "down"},
                     {"last_heard_ms", n.last_heard_ms},
                     {"connections", n.load.connections},
                     {"subscriptions", n.load.subscriptions},
                     {"events_per_s", n.load.events_per_s},
                     {"interest", n.interest},
                     {"link",
                      {{"events_sent", n.events_sent},
                       {"events_received", n.events_received},
                       {"events_dropped", n.events_dropped},
                       {"messages_sent", n.messages_sent},
                       {"messages_received", n.messages_received}}}});
    if (!n.up) continue;
    if (best == nullptr ||
        std::tie(n.load.connections, n.load.events_per_s) <
            std::tie(best->load.connections, best->load.events_per_s)) {
      best = &n;
    }
  }
  nlohmann::json j = {{"node", stats.nodes[0].node_id},
                      {"nodes", nodes},
                      {"bad_messages", stats.bad_messages},
                      {"auth_refused", stats.auth_refused}};
  if (best != nullptr) {
    j["least_loaded"] = {{"id", best->node_id},
                         {"client_address", best->client_address}};
  }
  return j.dump();
}

Status AckGate::Queue(const std::string& peer, const std::string& durable,
                      DurableSettle settle) {
  std::lock_guard<std::mutex> lock(mu_);
  if (impl_ == nullptr) {
    return Unavailable(
        "the link to node " + peer +
        " is stopped; the event is delivered again after ack_wait");
  }
  impl_->QueueSettle(peer, durable, settle);
  return Status::Ok();
}

Status NewCurveKeyPair(std::string* public_key, std::string* secret_key) {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Unavailable("zmq_curve_keypair failed: libzmq lacks CURVE support");
  }
  *public_key = pub;
  *secret_key = sec;
  return Status::Ok();
}

}  // namespace eventmesh::cluster
