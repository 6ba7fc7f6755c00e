#include "net/http/http_api.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "eventmesh/clock.h"
#include "eventmesh/topic.h"
#include "net/http/cloudevents_binding.h"
#include "net/http/event_streams.h"
#include "net/http/replies.h"
#include "net/http/webhooks.h"
#include "util/info_json.h"

namespace eventmesh::http {

namespace {

using json = nlohmann::json;

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The most single-event publish requests handed to the mesh at once.
constexpr size_t kMaxGatheredPublishes = 1024;

double SecondsSince(int64_t start_nanos) {
  return static_cast<double>(MonotonicNanos() - start_nanos) / 1e9;
}

// Compares in time independent of where the first difference is.
bool SameToken(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace

HttpApi::HttpApi(HttpServer* server)
    : server_(server),
      streams_(std::make_unique<EventStreams>(server)),
      replies_(std::make_unique<Replies>(server)),
      webhooks_(std::make_unique<Webhooks>(server)) {}

HttpApi::~HttpApi() = default;

void HttpApi::Start() {
  replies_->Start();
  webhooks_->Start();
}

void HttpApi::Stop() {
  streams_->Stop();
  replies_->Stop();
  webhooks_->Stop();
}

bool HttpApi::Idle() const { return replies_->Idle() && webhooks_->Idle(); }

void HttpApi::Tick() {
  streams_->Tick();
  webhooks_->Tick();
}

void HttpApi::Respond(const Exchange& ex, Response response) {
  server_->Respond(ex, std::move(response));
}

void HttpApi::MethodNotAllowed(const Exchange& ex, std::string_view allowed) {
  Response r =
      Response::Error(405, "use " + std::string(allowed) + " on this path");
  r.SetHeader("Allow", std::string(allowed));
  Respond(ex, std::move(r));
}

// --- Routing ----------------------------------------------------------------

void HttpApi::Handle(const Exchange& exchange, Request request) {
  Segments path = SplitPath(request.path);
  Route(exchange, request, path);
}

void HttpApi::Route(const Exchange& ex, Request& req, const Segments& path) {
  const std::string& m = req.method;
  bool get = m == "GET" || m == "HEAD";
  if (path.size() == 1 && (path[0] == "healthz" || path[0] == "readyz")) {
    if (!get) return MethodNotAllowed(ex, "GET");
    return Health(ex, path[0] == "readyz");
  }
  if (path.size() == 1 && path[0] == "metrics") {
    if (!get) return MethodNotAllowed(ex, "GET");
    return Metrics(ex);
  }
  if (!path.empty() && path[0] == "topics") return RouteTopics(ex, req, path);
  if (!path.empty() && path[0] == "webhooks") {
    return RouteWebhooks(ex, req, path);
  }
  if (!path.empty() && path[0] == "admin") return RouteAdmin(ex, req, path);
  Respond(ex, Response::Error(
                  404, "no endpoint at '" + req.path + "'; see docs/http.md"));
}

void HttpApi::RouteTopics(const Exchange& ex, Request& req,
                          const Segments& path) {
  if (path.size() != 3) {
    return Respond(ex, Response::Error(404,
                                       "use /topics/{topic}/events or "
                                       "/topics/{topic}/requests"));
  }
  std::string topic(path[1]);
  const std::string& m = req.method;
  if (path[2] == "events") {
    if (m == "POST") return Publish(ex, req, std::move(topic));
    if (m == "GET") {
      const std::string* accept = req.FindHeader("accept");
      if (accept && accept->find("text/event-stream") != std::string::npos) {
        return streams_->Open(ex, req, std::move(topic));
      }
      return ReadEvents(ex, req, std::move(topic));
    }
    return MethodNotAllowed(ex, "POST, GET");
  }
  if (path[2] == "requests") {
    if (m != "POST") return MethodNotAllowed(ex, "POST");
    return replies_->Request(ex, req, std::move(topic));
  }
  Respond(ex, Response::Error(404, "no endpoint at '" + req.path + "'"));
}

void HttpApi::RouteWebhooks(const Exchange& ex, Request& req,
                            const Segments& path) {
  const std::string& m = req.method;
  if (path.size() == 1) {
    if (m == "POST") return webhooks_->Create(ex, req);
    if (m == "GET") return webhooks_->List(ex);
    return MethodNotAllowed(ex, "GET, POST");
  }
  if (path.size() == 2) {
    if (m == "GET") return webhooks_->Get(ex, std::string(path[1]));
    if (m == "DELETE") return webhooks_->Delete(ex, std::string(path[1]));
    return MethodNotAllowed(ex, "GET, DELETE");
  }
  Respond(ex, Response::Error(404, "use /webhooks or /webhooks/{name}"));
}

void HttpApi::RouteAdmin(const Exchange& ex, Request& req,
                         const Segments& path) {
  if (!CheckAdmin(ex, req)) return;
  const std::string& m = req.method;
  auto at = [&](size_t n, std::string_view a, std::string_view b = {}) {
    return path.size() == n && path[1] == a && (b.empty() || path.back() == b);
  };
  if (at(2, "topics")) {
    return m == "GET" ? AdminTopics(ex) : MethodNotAllowed(ex, "GET");
  }
  if (at(3, "topics")) {
    if (m != "DELETE") return MethodNotAllowed(ex, "DELETE");
    return AdminDeleteTopic(ex, path[2]);
  }
  if (at(2, "groups")) {
    return m == "GET" ? AdminGroups(ex) : MethodNotAllowed(ex, "GET");
  }
  if (at(4, "groups", "position")) {
    if (m != "POST") return MethodNotAllowed(ex, "POST");
    return AdminSeekGroup(ex, req, std::string(path[2]));
  }
  if (path.size() == 5 && path[1] == "groups" && path[3] == "dead-letters" &&
      path[4] == "replay") {
    if (m != "POST") return MethodNotAllowed(ex, "POST");
    return AdminReplayDeadLetters(ex, std::string(path[2]));
  }
  if (at(2, "connections")) {
    return m == "GET" ? AdminConnections(ex) : MethodNotAllowed(ex, "GET");
  }
  Respond(ex, Response::Error(
                  404, "no admin endpoint at '" + std::string(req.path) + "'"));
}

// --- Publish and read -------------------------------------------------------

void HttpApi::Publish(const Exchange& ex, Request& req, std::string topic) {
  PublishOptions options;
  if (auto name = req.QueryParam("durability")) {
    Durability durability;
    if (!ParseDurability(*name, &durability)) {
      return Respond(
          ex, Response::Error(400, "durability must be sync, batch or none"));
    }
    options.durability = durability;
  }
  Result<BindingMode> mode = DetectMode(req);
  if (!mode.ok()) return Respond(ex, ErrorResponse(mode.status()));
  Result<std::vector<Event>> decoded = DecodeEvents(req);
  if (!decoded.ok()) return Respond(ex, ErrorResponse(decoded.status()));
  std::vector<Event> events = std::move(decoded).value();
  if (events.empty()) {
    return Respond(ex, Response::Error(400, "the batch holds no events"));
  }
  uint64_t bytes = 0;
  for (Event& e : events) {
    if (e.id.empty()) e.id = NewEventId();
    bytes += e.data.size();
  }

  auto done_stats = [server = server_, ex, bytes, n = events.size()] {
    server->stats().published->Inc(n);
    server->stats().published_bytes->Inc(bytes);
    server->stats().publish_latency->Observe(SecondsSince(ex.started_nanos));
  };
  if (*mode != BindingMode::kBatch) {
    // One event: gathered with the other publish requests of this read.
    if (!gathered_.empty() && gathered_durability_ != options.durability) {
      PublishGathered();
    }
    gathered_durability_ = options.durability;
    events[0].topic = topic;
    gathered_.push_back({ex, std::move(topic), events[0].id, bytes});
    gathered_events_.push_back(std::move(events[0]));
    if (gathered_.size() >= kMaxGatheredPublishes) PublishGathered();
    return;
  }
  for (Event& e : events) e.topic = topic;
  server_->RespondFromWorker(ex, [server = server_, events = std::move(events),
                                  options, topic, done_stats]() mutable {
    std::vector<std::string> ids;
    for (const Event& e : events) ids.push_back(e.id);
    auto result = server->mesh()->PublishBatch(std::move(events), options);
    if (!result.ok()) return ErrorResponse(result.status());
    done_stats();
    json j = {{"topic", topic}, {"sequences", *result}, {"ids", ids}};
    return Response::Json(200, Dump(j));
  });
}

// One hand-off for the batch; the answers come back through the inbox,
// all in one task.
void HttpApi::PublishGathered() {
  if (gathered_.empty()) return;
  PublishOptions options;
  options.durability = gathered_durability_;
  std::vector<Event> events;
  events.swap(gathered_events_);
  std::vector<GatheredPublish> requests;
  requests.swap(gathered_);
  auto core = server_->inbox().core();
  server_->mesh()->PublishEachAsync(
      std::move(events),
      [core, server = server_,
       requests = std::move(requests)](std::vector<Result<uint64_t>>& results) {
        core->Post([server, requests, results = std::move(results)] {
          for (size_t i = 0; i < requests.size(); ++i) {
            const GatheredPublish& r = requests[i];
            if (!results[i].ok()) {
              server->Respond(r.exchange, ErrorResponse(results[i].status()));
              continue;
            }
            server->stats().published->Inc(1);
            server->stats().published_bytes->Inc(r.bytes);
            server->stats().publish_latency->Observe(
                SecondsSince(r.exchange.started_nanos));
            json j = {
                {"topic", r.topic}, {"sequence", *results[i]}, {"id", r.id}};
            server->Respond(r.exchange, Response::Json(200, Dump(j)));
          }
        });
      },
      options);
}

void HttpApi::ReadEvents(const Exchange& ex, const Request& req,
                         std::string topic) {
  uint64_t from = 1;
  size_t limit = 100;
  if (auto v = req.QueryParam("from")) {
    if (v->empty() || v->find_first_not_of("0123456789") != std::string::npos) {
      return Respond(ex, Response::Error(400, "from must be a sequence"));
    }
    from = std::stoull(*v);
  }
  if (auto v = req.QueryParam("limit")) {
    if (v->empty() || v->size() > 6 ||
        v->find_first_not_of("0123456789") != std::string::npos) {
      return Respond(ex, Response::Error(400, "limit must be 1 to 999999"));
    }
    limit = std::stoul(*v);
  }
  if (Status s = ValidateTopic(topic); !s.ok()) {
    return Respond(ex, ErrorResponse(s));
  }
  server_->RespondFromWorker(ex, [server = server_, topic, from, limit] {
    auto events = server->mesh()->Read(topic, from, limit);
    if (!events.ok()) return ErrorResponse(events.status());
    std::string body = "[";
    for (size_t i = 0; i < events->size(); ++i) {
      if (i > 0) body += ',';
      body += EncodeJson((*events)[i], true);
    }
    body += "]\n";
    Response r;
    r.headers.push_back({"Content-Type", "application/cloudevents-batch+json"});
    r.body = std::move(body);
    return r;
  });
}

// --- Operations -------------------------------------------------------------

void HttpApi::Health(const Exchange& ex, bool ready) {
  if (!ready) {
    return Respond(ex, Response::Json(200, R"({"status":"ok"})"));
  }
  if (server_->stopping()) {
    return Respond(ex, Response::Error(503, "the server is stopping"));
  }
  // Ready means the mesh answers: its store (or server) is reachable.
  server_->RespondFromWorker(ex, [server = server_] {
    auto stats = server->mesh()->Stats();
    if (!stats.ok()) {
      return Response::Error(
          503, "the mesh is not ready: " + stats.status().ToString());
    }
    return Response::Json(200, R"({"status":"ready"})");
  });
}

void HttpApi::Metrics(const Exchange& ex) {
  server_->RespondFromWorker(ex, [server = server_] {
    Response r;
    r.headers.push_back(
        {"Content-Type", "text/plain; version=0.0.4; charset=utf-8"});
    r.body = server->metrics()->Render();
    return r;
  });
}

namespace {
// The links of the mesh of nodes, one label per other node.
void CollectLinkMetrics(const std::vector<LinkStats>& links,
                        metrics::SampleWriter* out) {
  for (const LinkStats& link : links) {
    metrics::Labels l = {{"node", link.node}};
    auto counter = [&](const char* name, const char* help, uint64_t v) {
      out->Counter(name, help, l, static_cast<double>(v));
    };
    out->Gauge("eventmesh_link_up", "1 when the other node is up", l,
               link.up ? 1 : 0);
    out->Gauge("eventmesh_link_last_heard_seconds",
               "Since the other node was last heard from (-1: never)", l,
               link.last_heard_ms < 0 ? -1 : link.last_heard_ms / 1000.0);
    out->Gauge("eventmesh_link_interest",
               "Patterns the other node wants from this one", l,
               static_cast<double>(link.interest));
    out->Gauge("eventmesh_link_in_flight",
               "Durable deliveries to the other node not yet acknowledged", l,
               static_cast<double>(link.in_flight));
    counter("eventmesh_link_events_sent_total", "Events sent over the link",
            link.events_sent);
    counter("eventmesh_link_events_received_total",
            "Events received from the other node", link.events_received);
    counter("eventmesh_link_events_dropped_total",
            "Events for the other node dropped (queue full or unreachable)",
            link.events_dropped);
    counter("eventmesh_link_messages_sent_total", "Messages sent over the link",
            link.messages_sent);
    counter("eventmesh_link_messages_received_total",
            "Messages received from the other node", link.messages_received);
  }
}
}  // namespace

void HttpApi::CollectMeshMetrics(metrics::SampleWriter* out) {
  Mesh* mesh = server_->mesh();
  if (auto s = mesh->Stats(); s.ok()) {
    auto counter = [&](const char* name, const char* help, uint64_t v) {
      out->Counter(name, help, {}, static_cast<double>(v));
    };
    counter("eventmesh_events_published_total", "Events stored", s->published);
    counter("eventmesh_events_duplicates_total",
            "Publishes answered by deduplication", s->duplicates);
    counter("eventmesh_events_delivered_total", "Events handed to subscribers",
            s->delivered);
    counter("eventmesh_events_dropped_total",
            "Events lost to subscriber overflow", s->dropped);
    counter("eventmesh_events_acked_total", "Durable deliveries acknowledged",
            s->acked);
    counter("eventmesh_events_redelivered_total", "Durable redeliveries",
            s->redelivered);
    counter("eventmesh_events_dead_lettered_total",
            "Events moved to a dead-letter topic", s->dead_lettered);
    counter("eventmesh_store_commits_total", "Store write transactions",
            s->store.commits);
    counter("eventmesh_store_syncs_total", "Store flushes to disk",
            s->store.syncs);
    out->Gauge("eventmesh_subscriptions", "Active subscriptions", {},
               static_cast<double>(s->subscriptions));
    out->Gauge("eventmesh_store_used_bytes", "Bytes used by the store", {},
               static_cast<double>(s->store.bytes_used));
    out->Gauge("eventmesh_store_map_bytes", "Size of the store's LMDB map", {},
               static_cast<double>(s->store.map_bytes));
    CollectLinkMetrics(s->links, out);
  }
  if (auto groups = mesh->Groups(); groups.ok()) {
    for (const GroupInfo& g : *groups) {
      metrics::Labels l = {{"group", g.name}};
      out->Gauge("eventmesh_group_lag", "Log positions a group has not settled",
                 l, static_cast<double>(g.lag));
      out->Gauge("eventmesh_group_in_flight",
                 "Deliveries awaiting acknowledgement", l,
                 static_cast<double>(g.in_flight));
      out->Gauge("eventmesh_group_members", "Members of a group", l,
                 static_cast<double>(g.members));
      out->Counter("eventmesh_group_delivered_total",
                   "Events delivered to a group", l,
                   static_cast<double>(g.delivered));
      out->Counter("eventmesh_group_redelivered_total",
                   "Events redelivered to a group", l,
                   static_cast<double>(g.redelivered));
      out->Counter("eventmesh_group_dead_lettered_total",
                   "Events a group dead-lettered", l,
                   static_cast<double>(g.dead_lettered));
    }
  }
  if (auto topics = mesh->Topics(); topics.ok()) {
    for (const TopicInfo& t : *topics) {
      metrics::Labels l = {{"topic", t.topic}};
      out->Gauge("eventmesh_topic_events", "Events stored in a topic", l,
                 static_cast<double>(t.count));
      out->Gauge("eventmesh_topic_bytes", "Bytes stored in a topic", l,
                 static_cast<double>(t.bytes));
      out->Gauge("eventmesh_topic_last_sequence", "A topic's last sequence", l,
                 static_cast<double>(t.last_sequence));
    }
  }
}

bool HttpApi::CheckAdmin(const Exchange& ex, const Request& req) {
  const std::string& token = server_->options().admin_token;
  if (token.empty()) {
    Respond(ex, Response::Error(403,
                                "the admin API is disabled: configure "
                                "an admin token ([http] admin_token)"));
    return false;
  }
  const std::string* auth = req.FindHeader("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth == nullptr || auth->compare(0, kBearer.size(), kBearer) != 0 ||
      !SameToken(std::string_view(*auth).substr(kBearer.size()), token)) {
    Response r = Response::Error(
        401, "send the admin token as 'Authorization: Bearer <token>'");
    r.SetHeader("WWW-Authenticate", "Bearer realm=\"eventmesh-admin\"");
    Respond(ex, std::move(r));
    return false;
  }
  return true;
}

void HttpApi::AdminTopics(const Exchange& ex) {
  server_->RespondFromWorker(ex, [server = server_] {
    auto topics = server->mesh()->Topics();
    if (!topics.ok()) return ErrorResponse(topics.status());
    json list = json::array();
    for (const TopicInfo& t : *topics) {
      list.push_back(TopicInfoJson(t));
    }
    return Response::Json(200, Dump({{"topics", list}}));
  });
}

void HttpApi::AdminGroups(const Exchange& ex) {
  server_->RespondFromWorker(ex, [server = server_] {
    auto groups = server->mesh()->Groups();
    if (!groups.ok()) return ErrorResponse(groups.status());
    json list = json::array();
    for (const GroupInfo& g : *groups) {
      list.push_back(GroupInfoJson(g));
    }
    return Response::Json(200, Dump({{"groups", list}}));
  });
}

void HttpApi::AdminConnections(const Exchange& ex) {
  json list = json::array();
  for (const auto& c : server_->Connections()) {
    list.push_back({{"id", c.id},
                    {"protocol", "http"},
                    {"peer", c.peer},
                    {"age_ms", c.age_ms},
                    {"requests", c.requests},
                    {"streaming", c.streaming}});
  }
  Respond(ex, Response::Json(200, Dump({{"connections", list}})));
}

void HttpApi::AdminReplayDeadLetters(const Exchange& ex, std::string group) {
  server_->RespondFromWorker(ex, [server = server_, group] {
    auto n = server->mesh()->RepublishDeadLetters(group);
    if (!n.ok()) return ErrorResponse(n.status());
    return Response::Json(200, Dump({{"group", group}, {"republished", *n}}));
  });
}

void HttpApi::AdminDeleteTopic(const Exchange& ex, std::string_view segment) {
  std::string topic;
  if (!PercentDecode(segment, false, &topic)) {
    return Respond(ex, Response::Error(400,
                                       "the topic in the path is not "
                                       "valid percent-encoding"));
  }
  server_->RespondFromWorker(ex, [server = server_, topic] {
    Mesh* mesh = server->mesh();
    Status deleted = mesh->DeleteTopic(topic);
    if (!deleted.ok()) return ErrorResponse(deleted);
    // Numbering goes on after a delete: say where.
    json reply = {{"topic", topic}, {"deleted", true}};
    auto topics = mesh->Topics();
    if (topics.ok()) {
      for (const TopicInfo& t : *topics) {
        if (t.topic == topic) reply["next_sequence"] = t.last_sequence + 1;
      }
    }
    return Response::Json(200, Dump(reply));
  });
}

namespace {

// The body of POST /admin/groups/{group}/position: {"position": "earliest"
// | "latest" | <sequence> | "<RFC 3339 time>"}.
Result<StartPosition> ParsePositionBody(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("position")) {
    return InvalidArgument(
        "send a JSON object {\"position\": \"earliest\" | \"latest\" | "
        "<sequence> | \"<RFC 3339 time>\"}");
  }
  const json& p = j["position"];
  if (p.is_number_unsigned() && p.get<uint64_t>() > 0) {
    return StartPosition::Sequence(p.get<uint64_t>());
  }
  if (p.is_string()) return StartPosition::Parse(p.get<std::string>());
  return InvalidArgument(
      "\"position\" must be \"earliest\", \"latest\", a sequence from 1 or "
      "an RFC 3339 time string");
}

}  // namespace

void HttpApi::AdminSeekGroup(const Exchange& ex, const Request& req,
                             std::string group) {
  Result<StartPosition> position = ParsePositionBody(req.body);
  if (!position.ok()) return Respond(ex, ErrorResponse(position.status()));
  json given = json::parse(req.body)["position"];
  server_->RespondFromWorker(
      ex, [server = server_, group, given, to = *position] {
        Mesh* mesh = server->mesh();
        Status moved = mesh->SeekGroup(group, to);
        if (!moved.ok()) return ErrorResponse(moved);
        json reply = {{"group", group}, {"position", given}};
        auto groups = mesh->Groups();
        if (groups.ok()) {
          for (const GroupInfo& g : *groups) {
            if (g.name != group || !g.durable) continue;
            reply["ack_floor"] = g.ack_floor;
            reply["lag"] = g.lag;
          }
        }
        return Response::Json(200, Dump(reply));
      });
}

}  // namespace eventmesh::http
