// HttpApi: the endpoints of the HTTP server (docs/http.md lists them).
//
// Routes a parsed request to its handler. Handlers answer at once, or later
// from the LoopInbox (publish acks, replies) or libuv's pool (calls that
// read the store), always through HttpServer::Respond on the loop thread.
//
// Thread-safety: loop thread only, except CollectMeshMetrics (any thread).

#ifndef EVENTMESH_SRC_NET_HTTP_HTTP_API_H_
#define EVENTMESH_SRC_NET_HTTP_HTTP_API_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventmesh/mesh.h"
#include "net/http/http_message.h"
#include "net/http/http_server.h"
#include "util/metrics.h"

namespace eventmesh::http {

class EventStreams;
class Replies;
class Webhooks;

class HttpApi {
 public:
  explicit HttpApi(HttpServer* server);
  ~HttpApi();

  void Start();
  // Ends streams, webhooks and pending requests; Idle() turns true once
  // their handles are closed.
  void Stop();
  bool Idle() const;
  // Called by the server's sweep timer.
  void Tick();

  void Handle(const Exchange& exchange, Request request);
  // Publishes the single-event publish requests gathered since the last
  // call in one hand-off to the mesh. The server calls it at the end of
  // each loop callback (HttpServer::FlushDirty).
  void PublishGathered();
  // Samples from Mesh::Stats(), Groups() and Topics(); blocking, so only
  // rendered on a worker thread.
  void CollectMeshMetrics(metrics::SampleWriter* out);

 private:
  using Segments = std::vector<std::string_view>;

  void Route(const Exchange& ex, Request& req, const Segments& path);
  void RouteTopics(const Exchange& ex, Request& req, const Segments& path);
  void RouteAdmin(const Exchange& ex, Request& req, const Segments& path);
  void RouteWebhooks(const Exchange& ex, Request& req, const Segments& path);

  void Publish(const Exchange& ex, Request& req, std::string topic);
  void ReadEvents(const Exchange& ex, const Request& req, std::string topic);
  void Health(const Exchange& ex, bool ready);
  void Metrics(const Exchange& ex);
  bool CheckAdmin(const Exchange& ex, const Request& req);
  void AdminTopics(const Exchange& ex);
  void AdminGroups(const Exchange& ex);
  void AdminConnections(const Exchange& ex);
  void AdminReplayDeadLetters(const Exchange& ex, std::string group);
  void AdminDeleteTopic(const Exchange& ex, std::string_view segment);
  void AdminSeekGroup(const Exchange& ex, const Request& req,
                      std::string group);

  void Respond(const Exchange& ex, Response response);
  void MethodNotAllowed(const Exchange& ex, std::string_view allowed);

  // A single-event publish request waiting for PublishGathered().
  struct GatheredPublish {
    Exchange exchange;
    std::string topic;
    std::string id;
    uint64_t bytes = 0;
  };

  HttpServer* server_;
  std::vector<Event> gathered_events_;
  std::vector<GatheredPublish> gathered_;
  std::optional<Durability> gathered_durability_;
  std::unique_ptr<EventStreams> streams_;
  std::unique_ptr<Replies> replies_;
  std::unique_ptr<Webhooks> webhooks_;
};

}  // namespace eventmesh::http

#endif  // EVENTMESH_SRC_NET_HTTP_HTTP_API_H_
