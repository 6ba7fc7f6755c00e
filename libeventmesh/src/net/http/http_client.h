// A small HTTP/1.1 client on a libuv loop, for webhook deliveries.
//
// ClientPool sends requests to one target (host and port) over up to
// `max_connections` keep-alive connections, one request per connection at
// a time; requests beyond that wait in order. Every connection resolves
// the host again and refuses addresses outside the allowed networks, so a
// name cannot be re-pointed at a forbidden address later.
//
// Thread-safety: loop thread only. Callbacks run on the loop thread.

#ifndef EVENTMESH_SRC_NET_HTTP_HTTP_CLIENT_H_
#define EVENTMESH_SRC_NET_HTTP_HTTP_CLIENT_H_

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "eventmesh/status.h"
#include "net/http/http_message.h"

namespace eventmesh::http {

// An IPv4 or IPv6 network in CIDR notation ("127.0.0.0/8", "::1/128"; a
// bare address means the one host).
class Network {
 public:
  static Result<Network> Parse(std::string_view cidr);
  bool Contains(const sockaddr* addr) const;

 private:
  int family_ = 0;
  uint8_t bytes_[16] = {};
  int prefix_ = 0;
};

// A parsed http:// URL.
struct Url {
  std::string host;
  int port = 80;
  std::string path_and_query = "/";
  // Parses "http://host[:port][/path][?query]"; https and other schemes
  // are refused with kInvalidArgument.
  static Result<Url> Parse(std::string_view text);
};

struct ClientResponse {
  Status error;  // not OK when no response came (connect, timeout, ...)
  int status = 0;
  std::vector<Header> headers;  // names lower-cased
  std::string body;
  const std::string* FindHeader(std::string_view lower_name) const;
};

class ClientPool {
 public:
  using Done = std::function<void(ClientResponse)>;

  ClientPool(uv_loop_t* loop, Url target, std::vector<Network> allowed,
             std::chrono::milliseconds timeout, size_t max_connections);
  ~ClientPool();
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;

  // Sends `method` to the target's path (or `path` when non-empty) with
  // `headers` and `body`; `done` runs once with the response or an error.
  void Send(std::string method, std::string path, std::vector<Header> headers,
            std::string body, Done done);

  // Fails queued requests, closes every connection; `closed` runs once
  // all handles are closed (at once if there are none).
  void Close(std::function<void()> closed);

  const Url& target() const { return target_; }

 private:
  class Conn;
  struct Job {
    std::string bytes;
    Done done;
  };
  void Pump();
  void OnIdle(Conn* conn);
  void OnConnClosed(Conn* conn);

  uv_loop_t* loop_;
  Url target_;
  std::vector<Network> allowed_;
  std::chrono::milliseconds timeout_;
  size_t max_connections_;
  std::deque<Job> queue_;
  std::vector<Conn*> conns_;
  bool closing_ = false;
  std::function<void()> closed_;
};

}  // namespace eventmesh::http

#endif  // EVENTMESH_SRC_NET_HTTP_HTTP_CLIENT_H_
