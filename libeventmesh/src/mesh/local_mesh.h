// LocalMesh: the embedded mesh, over a Store in this process.
//
// Publishing hands events to the store; when the store reports them stored
// (in log order, see Store::Append) they are dispatched: matched against
// the subscription index and offered to each matching route. Live routes
// queue the event for their handlers; consumers read it back from the log.
// Replies ("$INBOX." topics) are not stored: they are dispatched at once.
//
// Thread-safe, as Mesh promises.

#ifndef EVENTMESH_SRC_MESH_LOCAL_MESH_H_
#define EVENTMESH_SRC_MESH_LOCAL_MESH_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "eventmesh/mesh.h"
#include "mesh/callback_pool.h"
#include "mesh/cluster_hook.h"
#include "mesh/consumer.h"
#include "mesh/live_queue.h"
#include "mesh/timer.h"
#include "topic/subscription_index.h"

namespace eventmesh {

class LocalMesh : public Mesh {
 public:
  // Takes ownership of `store`.
  LocalMesh(std::unique_ptr<Store> store, const MeshOptions& options);
  ~LocalMesh() override;

  Result<uint64_t> Publish(std::string_view topic, Event event,
                           const PublishOptions& options) override;
  void PublishAsync(std::string_view topic, Event event, PublishDone done,
                    const PublishOptions& options) override;
  Result<std::vector<uint64_t>> PublishBatch(
      std::vector<Event> events, const PublishOptions& options) override;
  void PublishEachAsync(std::vector<Event> events, PublishEachDone done,
                        const PublishOptions& options) override;
  Result<std::unique_ptr<Subscription>> SubscribeBatch(
      std::string_view pattern, BatchHandler handler,
      const SubscribeOptions& options) override;
  Result<Event> Request(std::string_view topic, Event request,
                        std::chrono::milliseconds timeout) override;
  Result<std::vector<Event>> Read(std::string_view topic,
                                  uint64_t from_sequence,
                                  size_t max_events) override;
  Result<std::vector<TopicInfo>> Topics() override;
  Result<std::vector<GroupInfo>> Groups() override;
  Result<MeshStats> Stats() override;
  Result<uint64_t> RepublishDeadLetters(std::string_view durable) override;
  Status DeleteTopic(std::string_view topic) override;
  Status SeekGroup(std::string_view durable, StartPosition position) override;
  Status Close() override;
  const std::string& node_id() const override { return node_id_; }

  // Cluster hooks (see mesh/cluster_hook.h). AttachCluster sets the hook
  // (nullptr detaches it; the hook must stay alive until then) and
  // returns the interest of every current route, atomically with the
  // attach, so no change is missed.
  std::vector<Interest> AttachCluster(ClusterHook* hook);
  // Delivers events received from a peer to the live routes they name,
  // without storing or forwarding them again. A full kBlock subscription
  // holds the caller no later than `hold_until`; after that its events
  // are dropped (and counted) at once.
  void InjectRemote(const std::vector<RemoteEvent>& events,
                    std::chrono::steady_clock::time_point hold_until);

  // Durable groups across nodes (docs/cluster.md). The cluster adds one
  // remote member per other node with members of durable `name`, to this
  // node's consumer of that name; `sink` receives its deliveries.
  Result<std::unique_ptr<Subscription>> AddRemoteMember(
      const Interest& durable, Consumer::RemoteSink sink);
  // Hands deliveries that another node's consumer of `durable` sent to
  // the local members; false (nothing taken) when there are none.
  bool OfferRemoteDurable(const std::string& durable,
                          const std::vector<Delivery>& deliveries);
  // Applies acks (by log position) and nacks that came back from another
  // node to this node's consumer of `durable`.
  void SettleRemoteDurable(
      const std::string& durable, const std::vector<uint64_t>& acks,
      const std::vector<std::pair<uint64_t, std::chrono::milliseconds>>& nacks);

  // Removes a live subscription / a consumer member (SubscriptionHandle).
  void RemoveLive(uint64_t route_id, const std::string& group_key,
                  const std::shared_ptr<LiveQueue>& queue);
  void RemoveMember(const std::string& consumer_key,
                    const std::shared_ptr<Consumer>& consumer,
                    uint64_t member_id, bool remote);

 private:
  enum class RouteKind { kLive, kGroup, kConsumer, kInbox };
  struct RouteEntry {
    std::string pattern;
    std::shared_ptr<Route> route;
    RouteKind kind = RouteKind::kLive;
    std::string group;  // kGroup only
  };
  struct CachedRoutes {
    uint64_t generation = 0;
    std::vector<Route*> routes;
  };
  struct RequestWaiter;
  class InboxRoute;

  // Checks and completes an event before it is stored. `*chosen_id` tells
  // whether the publisher chose the id (only such ids can repeat).
  Result<std::shared_ptr<Event>> Prepare(std::string_view topic, Event event,
                                         bool* chosen_id);
  // The same for an event whose `topic` is set; `topic_checked` skips
  // validating a topic already found valid.
  Status PrepareInPlace(Event* event, bool topic_checked, bool* chosen_id);
  // PrepareInPlace for the next event of a batch, whose events mostly
  // share a topic: `*checked_topic` is the last topic found valid.
  Status PrepareBatchEvent(Event* event, const std::string** checked_topic,
                           bool* chosen_id);
  Durability DurabilityOf(const PublishOptions& options) const;
  // Offers stored events to their routes. Runs in log order.
  void Dispatch(const std::vector<std::shared_ptr<Event>>& events,
                const std::vector<AppendOutcome>& outcomes);
  void DispatchStoredLocked(const EventPtr& event,
                            const AppendOutcome& outcome);
  // mu_ held.
  void DispatchOne(const EventPtr& event, uint64_t position);
  // The routes of `topic`, from a cache checked against the index's
  // generation. Valid until mu_ is released.
  const std::vector<Route*>& RoutesForLocked(const std::string& topic);
  // mu_ held.
  uint64_t AddRouteLocked(const std::string& pattern,
                          std::shared_ptr<Route> route, RouteKind kind,
                          const std::string& group = "");
  // mu_ held: tells the cluster hook, if any, about a route's interest.
  void NotifyInterestLocked(const RouteEntry& entry, bool added);
  void RemoveRouteLocked(uint64_t id);

  // Administration helpers; subscribe_mu_ held.
  Status DropFromStoredDurablesLocked(const std::string& topic);
  Result<uint64_t> SeekTargetLocked(const std::string& durable,
                                    const std::string& pattern,
                                    const StartPosition& position);
  Status PutStateAndWait(std::string key, std::string value);

  Result<std::unique_ptr<Subscription>> SubscribeLive(
      std::string_view pattern, BatchHandler handler,
      const SubscribeOptions& options);
  // With `remote`, the member stands for another node's members.
  Result<std::unique_ptr<Subscription>> SubscribeConsumer(
      std::string_view pattern, BatchHandler handler,
      const SubscribeOptions& options, Consumer::RemoteSink remote = nullptr);
  std::shared_ptr<Consumer> FindDurable(const std::string& durable);

  const MeshOptions options_;
  std::string node_id_;
  std::unique_ptr<eventmesh::Store> store_;
  CallbackPool pool_;
  Timer timer_;

  // Lock order: subscribe_mu_, then mu_. Dispatch takes only mu_.
  // subscribe_mu_ guards consumers_ and is held while a consumer opens
  // (which waits on the store, whose callbacks dispatch).
  std::mutex subscribe_mu_;
  // Routing: the index, the routes, and a cache of topic -> routes.
  std::mutex mu_;
  bool closed_ = false;
  SubscriptionIndex index_;
  std::unordered_map<uint64_t, RouteEntry> routes_;
  uint64_t next_route_id_ = 1;
  std::unordered_map<std::string, CachedRoutes> route_cache_;
  std::vector<uint64_t> match_scratch_;
  ClusterHook* cluster_ = nullptr;  // see AttachCluster
  // The same hook for Stats(), which asks it outside mu_.
  std::mutex link_stats_mu_;
  ClusterHook* link_stats_ = nullptr;
  // Non-durable groups by "<group>\n<pattern>", with their route id.
  std::map<std::string, std::pair<uint64_t, std::shared_ptr<LiveGroup>>>
      groups_;
  // Consumers by durable name (or an internal key), with their route id.
  std::map<std::string, std::pair<uint64_t, std::shared_ptr<Consumer>>>
      consumers_;
  uint64_t next_ephemeral_ = 1;
  // Live subscriptions for Close().
  std::map<LiveQueue*, std::weak_ptr<LiveQueue>> live_;

  // Request/reply: replies to "<inbox_prefix_><n>" find their waiter.
  std::mutex request_mu_;
  std::string inbox_prefix_;
  uint64_t next_request_ = 1;
  std::unordered_map<std::string, std::shared_ptr<RequestWaiter>> requests_;

  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<bool> closing_{false};
};

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_MESH_LOCAL_MESH_H_
