// Replies: request/reply over HTTP (POST /topics/{topic}/requests).
//
// The request event is published with a reply topic under this server's
// own inbox ("$INBOX.http-<random>.<n>") and a correlation id; the first
// reply on that topic is returned in binary mode. Waiting costs no thread:
// one subscription receives every reply and a timer per request answers
// 504 when none came in time.
//
// Thread-safety: loop thread only.

#ifndef EVENTMESH_SRC_NET_HTTP_REPLIES_H_
#define EVENTMESH_SRC_NET_HTTP_REPLIES_H_

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "eventmesh/mesh.h"
#include "net/http/http_server.h"

namespace eventmesh::http {

class Replies {
 public:
  explicit Replies(HttpServer* server);
  ~Replies();

  void Start();
  void Stop();
  // True once every timer is closed.
  bool Idle() const { return open_timers_ == 0; }

  void Request(const Exchange& ex, const http::Request& req, std::string topic);

 private:
  struct Pending {
    Exchange exchange;
    uv_timer_t* timer = nullptr;
    int64_t timeout_ms = 0;
  };
  void OnReply(const std::string& reply_topic, Event reply);
  void OnTimeout(uint64_t n);
  void Finish(uint64_t n, Response response);

  HttpServer* server_;
  std::string prefix_;
  std::unique_ptr<Subscription> subscription_;
  Status start_status_;
  std::unordered_map<uint64_t, Pending> pending_;
  uint64_t next_ = 1;
  int open_timers_ = 0;
};

}  // namespace eventmesh::http

#endif  // EVENTMESH_SRC_NET_HTTP_REPLIES_H_
