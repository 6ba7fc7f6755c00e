// Webhooks: subscriptions whose events are POSTed to a URL in CloudEvents
// binary mode.
//
// Each webhook is a durable subscription of its group ("$DLQ.<group>.<topic>"
// takes its dead letters), so webhooks with the same group share events and
// a restarted server resumes where the group stopped. Answers: 2xx acks the
// event; 408, 429, 5xx and network errors retry after an exponential
// backoff (or the target's Retry-After) through the mesh's nack; any other
// 4xx, or the last allowed attempt failing, dead-letters the event with the
// reason in the "deadreason" attribute.
//
// Definitions are kept as events on the topic "$SYS.http.webhooks"
// (created/deleted records), replayed at start, so they survive restarts
// of an embedded mesh with a data directory.
//
// Thread-safety: loop thread only; subscription handlers post to the loop.

#ifndef EVENTMESH_SRC_NET_HTTP_WEBHOOKS_H_
#define EVENTMESH_SRC_NET_HTTP_WEBHOOKS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eventmesh/mesh.h"
#include "net/http/http_client.h"
#include "net/http/http_server.h"

namespace eventmesh::http {

inline constexpr std::string_view kWebhookDefinitionsTopic =
    "$SYS.http.webhooks";

struct WebhookSpec {
  std::string name;     // [A-Za-z0-9_-], 1 to 64 characters
  std::string pattern;  // topic pattern
  std::string url;      // http://host[:port]/path
  std::string group;    // webhooks of one group share events; default: name
  std::string start = "latest";  // for a new group: latest, earliest, ...
  std::string filter;  // Subscriptions API filter JSON; empty: all events
  size_t max_in_flight = 16;
  bool handshake = false;  // run the validation handshake at creation

  // From the JSON body of POST /webhooks; kInvalidArgument says what is
  // wrong.
  static Result<WebhookSpec> FromJson(std::string_view json);
  std::string ToJson() const;
};

// The wait before attempt `attempt + 1`: `initial` doubling per attempt,
// capped at `max`; a Retry-After header (seconds) wins when present.
std::chrono::milliseconds RetryDelay(uint32_t attempt,
                                     const std::string* retry_after,
                                     std::chrono::milliseconds initial,
                                     std::chrono::milliseconds max);

class Webhooks {
 public:
  explicit Webhooks(HttpServer* server);
  ~Webhooks();

  // Restores the webhooks recorded on kWebhookDefinitionsTopic.
  void Start();
  void Stop();
  bool Idle() const { return closing_pools_ == 0 && !settling_; }
  void Tick() {}

  void Create(const Exchange& ex, const Request& req);
  void List(const Exchange& ex);
  void Get(const Exchange& ex, const std::string& name);
  void Delete(const Exchange& ex, const std::string& name);

 private:
  struct Hook;

  Status Validate(const WebhookSpec& spec) const;
  void Handshake(const Exchange& ex, WebhookSpec spec);
  Result<Hook*> Activate(WebhookSpec spec);
  void Persist(const WebhookSpec& spec, bool deleted,
               std::function<void(Status)> done);
  void Remove(Hook* hook);
  std::string Describe(const Hook& hook) const;

  void OnDeliveries(uint64_t hook_id, const std::vector<Delivery>& batch);
  void Send(Hook* hook, const Delivery& delivery);
  void OnAnswer(uint64_t hook_id, const Delivery& delivery,
                const ClientResponse& response);
  void Retry(Hook* hook, const Delivery& delivery, const std::string& why,
             const std::string* retry_after);
  void DeadLetter(Hook* hook, const Delivery& delivery, std::string reason);
  // Acks (no delay) and nacks wait on the store, so they run in batches on
  // libuv's pool instead of the loop thread.
  void Settle(const Delivery& delivery,
              std::optional<std::chrono::milliseconds> nack_delay);
  void SettleBatch();

  HttpServer* server_;
  std::vector<Network> allowed_;
  Status allowed_status_;
  std::map<std::string, std::unique_ptr<Hook>> hooks_;  // by name
  uint64_t next_hook_id_ = 1;
  int closing_pools_ = 0;
  bool stopped_ = false;
  struct Settlement {
    Delivery delivery;
    std::optional<std::chrono::milliseconds> nack_delay;
  };
  std::vector<Settlement> to_settle_;
  bool settling_ = false;
};

}  // namespace eventmesh::http

#endif  // EVENTMESH_SRC_NET_HTTP_WEBHOOKS_H_
