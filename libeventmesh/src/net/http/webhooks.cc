#include "net/http/webhooks.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "eventmesh/clock.h"
#include "eventmesh/filter.h"
#include "eventmesh/topic.h"
#include "net/http/cloudevents_binding.h"
#include "util/log_internal.h"

namespace eventmesh::http {

namespace {

using json = nlohmann::json;

constexpr std::string_view kCreatedType = "io.eventmesh.http.webhook.created";
constexpr std::string_view kDeletedType = "io.eventmesh.http.webhook.deleted";
// Longest Retry-After honoured.
constexpr int64_t kMaxRetryAfterMs = 3600 * 1000;

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool Retryable(int status) {
  return status == 408 || status == 429 || status >= 500;
}

}  // namespace

// --- WebhookSpec ------------------------------------------------------------

Result<WebhookSpec> WebhookSpec::FromJson(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("the webhook must be a JSON object");
  }
  WebhookSpec spec;
  auto get_string = [&](const char* key, std::string* out,
                        bool required) -> Status {
    auto it = j.find(key);
    if (it == j.end()) {
      return required
                 ? InvalidArgument(std::string("'") + key + "' is required")
                 : Status::Ok();
    }
    if (!it->is_string()) {
      return InvalidArgument(std::string("'") + key + "' must be a string");
    }
    *out = it->get<std::string>();
    return Status::Ok();
  };
  EM_RETURN_IF_ERROR(get_string("name", &spec.name, false));
  EM_RETURN_IF_ERROR(get_string("pattern", &spec.pattern, true));
  EM_RETURN_IF_ERROR(get_string("url", &spec.url, true));
  EM_RETURN_IF_ERROR(get_string("group", &spec.group, false));
  EM_RETURN_IF_ERROR(get_string("start", &spec.start, false));
  if (auto it = j.find("filter"); it != j.end()) spec.filter = it->dump();
  if (auto it = j.find("max_in_flight"); it != j.end()) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() == 0 ||
        it->get<uint64_t>() > 1024) {
      return InvalidArgument("'max_in_flight' must be 1 to 1024");
    }
    spec.max_in_flight = it->get<size_t>();
  }
  if (auto it = j.find("handshake"); it != j.end()) {
    if (!it->is_boolean()) {
      return InvalidArgument("'handshake' must be true or false");
    }
    spec.handshake = it->get<bool>();
  }
  if (spec.name.empty()) {
    std::string id = NewEventId();
    spec.name = "wh-" + id.substr(0, 8);
  }
  if (spec.group.empty()) spec.group = spec.name;
  return spec;
}

std::string WebhookSpec::ToJson() const {
  json j = {{"name", name},
            {"pattern", pattern},
            {"url", url},
            {"group", group},
            {"start", start},
            {"max_in_flight", max_in_flight},
            {"handshake", handshake}};
  if (!filter.empty()) j["filter"] = json::parse(filter, nullptr, false);
  return Dump(j);
}

std::chrono::milliseconds RetryDelay(uint32_t attempt,
                                     const std::string* retry_after,
                                     std::chrono::milliseconds initial,
                                     std::chrono::milliseconds max) {
  if (retry_after != nullptr && !retry_after->empty() &&
      retry_after->find_first_not_of("0123456789") == std::string::npos &&
      retry_after->size() < 10) {
    int64_t ms = std::stoll(*retry_after) * 1000;
    return std::chrono::milliseconds(std::min(ms, kMaxRetryAfterMs));
  }
  int64_t delay = initial.count();
  for (uint32_t i = 1; i < attempt && delay < max.count(); ++i) delay *= 2;
  return std::chrono::milliseconds(std::min(delay, max.count()));
}

// --- One webhook ------------------------------------------------------------

struct Webhooks::Hook {
  uint64_t id = 0;
  WebhookSpec spec;
  std::unique_ptr<ClientPool> pool;
  std::unique_ptr<Subscription> subscription;
  uint64_t acked = 0;
  uint64_t retried = 0;
  uint64_t dead_lettered = 0;
  std::string last_error;
};

Webhooks::Webhooks(HttpServer* server) : server_(server) {
  for (const std::string& cidr : server_->options().webhook_allowed_networks) {
    auto net = Network::Parse(cidr);
    if (!net.ok()) {
      allowed_status_ = net.status().WithContext("webhook_allowed_networks");
      continue;
    }
    allowed_.push_back(*net);
  }
}

Webhooks::~Webhooks() = default;

Status Webhooks::Validate(const WebhookSpec& spec) const {
  if (!allowed_status_.ok()) return allowed_status_;
  if (!ValidName(spec.name)) {
    return InvalidArgument("webhook name '" + spec.name +
                           "' must be 1 to 64 of A-Z, a-z, 0-9, '_', '-'");
  }
  if (!ValidName(spec.group)) {
    return InvalidArgument("group '" + spec.group +
                           "' must be 1 to 64 of A-Z, a-z, 0-9, '_', '-'");
  }
  EM_RETURN_IF_ERROR(ValidatePattern(spec.pattern));
  if (IsSystemTopic(spec.pattern)) {
    return InvalidArgument("webhooks cannot subscribe to '$' topics");
  }
  EM_ASSIGN_OR_RETURN(Url url, Url::Parse(spec.url));
  // An address literal is checked now; names at every connection.
  sockaddr_storage addr{};
  if (uv_ip4_addr(url.host.c_str(), url.port,
                  reinterpret_cast<sockaddr_in*>(&addr)) == 0 ||
      uv_ip6_addr(url.host.c_str(), url.port,
                  reinterpret_cast<sockaddr_in6*>(&addr)) == 0) {
    bool allowed = false;
    for (const Network& net : allowed_) {
      allowed |= net.Contains(reinterpret_cast<sockaddr*>(&addr));
    }
    if (!allowed) {
      return PermissionDenied("webhook target " + url.host +
                              " is not in the allowed networks "
                              "(webhook_allowed_networks)");
    }
  }
  EM_RETURN_IF_ERROR(StartPosition::Parse(spec.start).status());
  if (!spec.filter.empty()) {
    EM_RETURN_IF_ERROR(Filter::FromJson(spec.filter).status());
  }
  return Status::Ok();
}

Result<Webhooks::Hook*> Webhooks::Activate(WebhookSpec spec) {
  EM_RETURN_IF_ERROR(Validate(spec));
  auto hook = std::make_unique<Hook>();
  hook->id = next_hook_id_++;
  const HttpOptions& o = server_->options();
  hook->pool = std::make_unique<ClientPool>(
      server_->loop(), *Url::Parse(spec.url), allowed_, o.webhook_timeout,
      spec.max_in_flight);

  SubscribeOptions options;
  options.durable = spec.group;
  options.group = spec.group;
  options.start = *StartPosition::Parse(spec.start);
  options.manual_ack = true;
  options.max_in_flight = spec.max_in_flight;
  // The server retries itself (nack with backoff) and dead-letters with a
  // reason; the mesh's own limit is a backstop for a crashed server.
  options.max_deliver = o.webhook_max_attempts + 1;
  options.ack_wait = o.webhook_timeout * 2 + std::chrono::seconds(5);
  if (!spec.filter.empty()) options.filter = *Filter::FromJson(spec.filter);

  auto core = server_->inbox().core();
  uint64_t id = hook->id;
  auto handler = [this, core, id](const std::vector<Delivery>& batch) {
    core->Post([this, id, batch] { OnDeliveries(id, batch); });
  };
  auto sub = server_->mesh()->SubscribeBatch(spec.pattern, handler, options);
  if (!sub.ok()) return sub.status();
  hook->subscription = std::move(sub).value();
  hook->spec = std::move(spec);
  Hook* raw = hook.get();
  hooks_[raw->spec.name] = std::move(hook);
  return raw;
}

void Webhooks::Start() {
  // Replay the definition records: the last record of a name wins.
  std::map<std::string, std::optional<WebhookSpec>> latest;
  uint64_t from = 1;
  for (;;) {
    auto events = server_->mesh()->Read(kWebhookDefinitionsTopic, from, 256);
    if (!events.ok() || events->empty()) break;
    for (const Event& e : *events) {
      from = e.sequence + 1;
      if (e.type == kDeletedType) {
        latest[e.subject] = std::nullopt;
      } else if (e.type == kCreatedType) {
        auto spec = WebhookSpec::FromJson(e.data);
        if (spec.ok()) latest[spec->name] = *spec;
      }
    }
  }
  for (auto& [name, spec] : latest) {
    if (!spec) continue;
    auto hook = Activate(*spec);
    if (!hook.ok()) {
      EM_LOG(kWarn, "http",
             "webhook '" << name
                         << "' not restored: " << hook.status().ToString());
    }
  }
}

void Webhooks::Stop() {
  stopped_ = true;
  std::vector<Hook*> all;
  for (auto& [name, hook] : hooks_) all.push_back(hook.get());
  for (Hook* hook : all) Remove(hook);
}

void Webhooks::Remove(Hook* hook) {
  hook->subscription->Unsubscribe().IgnoreError();
  ++closing_pools_;
  // The pool closes asynchronously; the hook lives until it has.
  std::shared_ptr<Hook> owned(std::move(hooks_[hook->spec.name]));
  hooks_.erase(hook->spec.name);
  owned->pool->Close([this, owned] {
    --closing_pools_;
    server_->MaybeFinishStop();
  });
}

// --- The JSON API -----------------------------------------------------------

void Webhooks::Create(const Exchange& ex, const Request& req) {
  auto spec = WebhookSpec::FromJson(req.body);
  if (!spec.ok()) return server_->Respond(ex, ErrorResponse(spec.status()));
  if (Status s = Validate(*spec); !s.ok()) {
    return server_->Respond(ex, ErrorResponse(s));
  }
  if (hooks_.count(spec->name) != 0) {
    return server_->Respond(
        ex, Response::Error(
                409, "webhook '" + spec->name + "' exists; delete it first"));
  }
  if (spec->handshake) return Handshake(ex, std::move(spec).value());
  auto hook = Activate(std::move(spec).value());
  if (!hook.ok()) return server_->Respond(ex, ErrorResponse(hook.status()));
  std::string name = (*hook)->spec.name;
  Persist((*hook)->spec, false, [this, ex, name](Status s) {
    auto it = hooks_.find(name);
    if (it == hooks_.end()) return;
    if (!s.ok()) {
      Remove(it->second.get());
      return server_->Respond(
          ex, ErrorResponse(s.WithContext("could not record the webhook")));
    }
    server_->Respond(ex, Response::Json(201, Describe(*it->second)));
  });
}

// The CloudEvents Web Hook validation handshake: an OPTIONS request naming
// this server's origin, which the target must allow.
void Webhooks::Handshake(const Exchange& ex, WebhookSpec spec) {
  const HttpOptions& o = server_->options();
  auto pool = std::make_shared<ClientPool>(
      server_->loop(), *Url::Parse(spec.url), allowed_, o.webhook_timeout, 1);
  ++closing_pools_;
  std::string origin = o.webhook_origin;
  pool->Send(
      "OPTIONS", "", {{"WebHook-Request-Origin", origin}}, "",
      [this, ex, pool, spec = std::move(spec),
       origin](ClientResponse response) mutable {
        pool->Close([this, pool] {
          --closing_pools_;
          server_->MaybeFinishStop();
        });
        const std::string* allowed =
            response.FindHeader("webhook-allowed-origin");
        if (!response.error.ok()) {
          return server_->Respond(
              ex, Response::Error(502, "validation handshake failed: " +
                                           response.error.message()));
        }
        if (response.status / 100 != 2 || allowed == nullptr ||
            (*allowed != "*" && *allowed != origin)) {
          return server_->Respond(
              ex,
              Response::Error(
                  400, "the target did not allow deliveries from '" + origin +
                           "' (HTTP " + std::to_string(response.status) +
                           ", WebHook-Allowed-Origin: " +
                           (allowed ? *allowed : "absent") + ")"));
        }
        if (stopped_) return;
        if (hooks_.count(spec.name) != 0) {
          return server_->Respond(
              ex, Response::Error(409, "webhook '" + spec.name + "' exists"));
        }
        auto hook = Activate(std::move(spec));
        if (!hook.ok())
          return server_->Respond(ex, ErrorResponse(hook.status()));
        std::string name = (*hook)->spec.name;
        Persist((*hook)->spec, false, [this, ex, name](Status s) {
          auto it = hooks_.find(name);
          if (it == hooks_.end()) return;
          if (!s.ok()) {
            Remove(it->second.get());
            return server_->Respond(ex, ErrorResponse(s));
          }
          server_->Respond(ex, Response::Json(201, Describe(*it->second)));
        });
      });
}

void Webhooks::Persist(const WebhookSpec& spec, bool deleted,
                       std::function<void(Status)> done) {
  Event record;
  record.source = "/eventmesh/http";
  record.type = std::string(deleted ? kDeletedType : kCreatedType);
  record.subject = spec.name;
  record.datacontenttype = "application/json";
  if (!deleted) record.data = spec.ToJson();
  auto core = server_->inbox().core();
  server_->mesh()->PublishAsync(
      kWebhookDefinitionsTopic, std::move(record),
      [core, done = std::move(done)](const Result<uint64_t>& result) {
        Status status = result.ok() ? Status::Ok() : result.status();
        core->Post([done, status] { done(status); });
      });
}

std::string Webhooks::Describe(const Hook& hook) const {
  json j = json::parse(hook.spec.ToJson());
  j["acked"] = hook.acked;
  j["retried"] = hook.retried;
  j["dead_lettered"] = hook.dead_lettered;
  if (!hook.last_error.empty()) j["last_error"] = hook.last_error;
  SubscriptionStats s = hook.subscription->Stats();
  j["in_flight"] = s.in_flight;
  return Dump(j);
}

void Webhooks::List(const Exchange& ex) {
  json list = json::array();
  for (const auto& [name, hook] : hooks_) {
    list.push_back(json::parse(Describe(*hook)));
  }
  server_->Respond(ex, Response::Json(200, Dump({{"webhooks", list}})));
}

void Webhooks::Get(const Exchange& ex, const std::string& name) {
  auto it = hooks_.find(name);
  if (it == hooks_.end()) {
    return server_->Respond(
        ex, Response::Error(404, "no webhook named '" + name + "'"));
  }
  server_->Respond(ex, Response::Json(200, Describe(*it->second)));
}

void Webhooks::Delete(const Exchange& ex, const std::string& name) {
  auto it = hooks_.find(name);
  if (it == hooks_.end()) {
    return server_->Respond(
        ex, Response::Error(404, "no webhook named '" + name + "'"));
  }
  WebhookSpec spec = it->second->spec;
  Remove(it->second.get());
  Persist(spec, true, [this, ex](Status s) {
    if (!s.ok()) {
      return server_->Respond(
          ex, ErrorResponse(s.WithContext("removed, but not recorded")));
    }
    Response r;
    r.status = 204;
    server_->Respond(ex, std::move(r));
  });
}

// --- Deliveries -------------------------------------------------------------

void Webhooks::OnDeliveries(uint64_t hook_id,
                            const std::vector<Delivery>& batch) {
  Hook* hook = nullptr;
  for (auto& [name, h] : hooks_) {
    if (h->id == hook_id) hook = h.get();
  }
  // A removed webhook's deliveries stay unacknowledged: the group gets
  // them again after ack_wait.
  if (hook == nullptr) return;
  for (const Delivery& d : batch) Send(hook, d);
}

void Webhooks::Send(Hook* hook, const Delivery& delivery) {
  std::vector<Header> headers;
  std::string body = EncodeBinaryMode(delivery.event(), true, &headers);
  headers.push_back({"User-Agent", "eventmesh-webhook"});
  uint64_t id = hook->id;
  hook->pool->Send("POST", "", std::move(headers), std::move(body),
                   [this, id, delivery](ClientResponse response) {
                     OnAnswer(id, delivery, response);
                   });
}

void Webhooks::OnAnswer(uint64_t hook_id, const Delivery& delivery,
                        const ClientResponse& response) {
  if (stopped_) return;
  Hook* hook = nullptr;
  for (auto& [name, h] : hooks_) {
    if (h->id == hook_id) hook = h.get();
  }
  if (hook == nullptr) return;
  if (!response.error.ok()) {
    return Retry(hook, delivery, response.error.message(), nullptr);
  }
  int status = response.status;
  if (status / 100 == 2) {
    Settle(delivery, std::nullopt);
    ++hook->acked;
    auto& stats = server_->stats();
    stats.webhook_acked->Inc();
    stats.delivered->Inc();
    stats.delivered_bytes->Inc(delivery.event().data.size());
    stats.delivery_latency->Observe(
        static_cast<double>(WallNanos() - delivery.event().stored_at_nanos) /
        1e9);
    return;
  }
  std::string why = "HTTP " + std::to_string(status);
  if (!response.body.empty()) why += ": " + response.body.substr(0, 200);
  if (Retryable(status)) {
    return Retry(hook, delivery, why, response.FindHeader("retry-after"));
  }
  DeadLetter(hook, delivery, why);
}

void Webhooks::Retry(Hook* hook, const Delivery& delivery,
                     const std::string& why, const std::string* retry_after) {
  hook->last_error = why;
  const HttpOptions& o = server_->options();
  if (static_cast<int>(delivery.attempt()) >= o.webhook_max_attempts) {
    return DeadLetter(
        hook, delivery,
        why + " (after " + std::to_string(delivery.attempt()) + " attempts)");
  }
  ++hook->retried;
  server_->stats().webhook_retried->Inc();
  auto delay = RetryDelay(delivery.attempt(), retry_after,
                          o.webhook_retry_initial, o.webhook_retry_max);
  Settle(delivery, delay);
}

void Webhooks::Settle(const Delivery& delivery,
                      std::optional<std::chrono::milliseconds> nack_delay) {
  to_settle_.push_back({delivery, nack_delay});
  if (!settling_) SettleBatch();
}

void Webhooks::SettleBatch() {
  settling_ = true;
  auto batch = std::make_shared<std::vector<Settlement>>();
  batch->swap(to_settle_);
  server_->RunOnWorker(
      [batch] {
        for (const Settlement& s : *batch) {
          if (s.nack_delay) {
            s.delivery.Nack(*s.nack_delay).IgnoreError();
          } else {
            s.delivery.Ack().IgnoreError();
          }
        }
      },
      [this] {
        settling_ = false;
        if (!to_settle_.empty()) SettleBatch();
      });
}

void Webhooks::DeadLetter(Hook* hook, const Delivery& delivery,
                          std::string reason) {
  hook->last_error = reason;
  ++hook->dead_lettered;
  server_->stats().webhook_dead_lettered->Inc();
  const Event& original = delivery.event();
  Event dead = original;
  dead.topic.clear();
  dead.sequence = 0;
  dead.stored_at_nanos = 0;
  dead.SetExtension(kDeadReasonAttribute, reason);
  dead.SetExtension(kDeadAttemptsAttribute, std::to_string(delivery.attempt()));
  dead.SetExtension(kDeadTopicAttribute, original.topic);
  dead.SetExtension(kDeadSequenceAttribute, std::to_string(original.sequence));
  // A new id, as the mesh gives its own dead letters: the original one
  // would be taken for a duplicate inside the dedup window.
  dead.SetExtension(kDeadIdAttribute, original.id);
  dead.id.clear();
  std::string topic = "$DLQ." + hook->spec.group + "." + original.topic;
  auto delay = server_->options().webhook_retry_initial;
  // Acknowledged only once the dead letter is stored; otherwise retried.
  // The ack waits on the store, so it must not run on the store's thread
  // (where `done` runs): it goes back to the loop and on to the pool.
  auto core = server_->inbox().core();
  server_->mesh()->PublishAsync(
      topic, std::move(dead),
      [this, core, delivery, delay](const Result<uint64_t>& r) {
        bool stored = r.ok();
        core->Post([this, delivery, delay, stored] {
          if (stored) {
            Settle(delivery, std::nullopt);
          } else {
            Settle(delivery, delay);
          }
        });
      });
}

}  // namespace eventmesh::http
