// Connection: one accepted HTTP/1.1 connection of an HttpServer.
//
// Reading feeds a RequestParser; each parsed request gets a response slot
// and goes to the server's dispatcher. Slots complete in any order but are
// written in request order (pipelining). Output is gathered and written
// once per loop turn (HttpServer::FlushDirty). A response without
// keep-alive ends the connection with a lingering close: the write side
// shuts down and input is drained briefly, so the client reads the
// response before the socket goes away.
//
// Thread-safety: loop thread only.

#ifndef EVENTMESH_SRC_NET_HTTP_CONNECTION_H_
#define EVENTMESH_SRC_NET_HTTP_CONNECTION_H_

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "net/http/http_message.h"
#include "net/http/request_parser.h"

namespace eventmesh::http {

class HttpServer;

class Connection {
 public:
  Connection(HttpServer* server, uint64_t id);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int Init(uv_loop_t* loop);
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  // Starts reading; call once accepted.
  void Start();
  // Closes at once; pending responses are dropped.
  void Close();

  uint64_t id() const { return id_; }
  const std::string& peer() const { return peer_; }
  int64_t opened_ms() const { return opened_ms_; }
  uint64_t requests() const { return requests_; }
  bool streaming() const { return stream_slot_ != 0; }
  bool started() const { return started_; }

  void Respond(uint64_t slot, Response response);
  bool BeginStream(uint64_t slot, Response head,
                   std::function<void()> on_close);
  bool StreamWrite(uint64_t slot, std::string_view bytes);

  // Writes what was gathered (called by the server once per loop turn).
  void Flush();
  // Closes the connection when one of its timeouts passed.
  void CheckTimeouts(int64_t now_ms);

  bool dirty = false;

 private:
  struct Slot {
    uint64_t id = 0;
    bool ready = false;
    bool keep_alive = true;
    bool head_only = false;
    bool stream = false;
    std::string bytes;  // the serialized response (or stream head)
  };
  struct WriteRequest {
    uv_write_t req;
    std::string data;
  };
  enum class State { kOpen, kDraining, kLingering, kClosing };

  static void OnAlloc(uv_handle_t* handle, size_t size, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnShutdown(uv_shutdown_t* req, int status);
  static void OnClose(uv_handle_t* handle);

  void HandleInput(std::string_view bytes);
  void HandleEof();
  void StartRequest(Request request);
  void RejectRequest(int status, std::string message);
  uint64_t OpenSlot(bool keep_alive, bool head_only);
  Slot* FindSlot(uint64_t id);
  void DrainSlots();
  void UpdateReading();
  void FinishOutput();
  void StartLinger();

  HttpServer* server_;
  uint64_t id_;
  uv_tcp_t tcp_;
  RequestParser parser_;
  std::string peer_;
  State state_ = State::kOpen;
  bool reading_ = false;
  bool started_ = false;
  bool input_closed_ = false;  // no more requests will be read
  bool eof_seen_ = false;      // the peer shut down its side
  std::deque<Slot> slots_;
  uint64_t next_slot_ = 1;
  uint64_t stream_slot_ = 0;  // the slot turned into a stream, if any
  std::function<void()> on_stream_close_;
  std::string out_;
  size_t writing_bytes_ = 0;
  int64_t opened_ms_ = 0;
  int64_t last_activity_ms_ = 0;
  int64_t request_started_ms_ = 0;
  int64_t linger_started_ms_ = 0;
  uint64_t requests_ = 0;
  uv_shutdown_t shutdown_req_;
};

}  // namespace eventmesh::http

#endif  // EVENTMESH_SRC_NET_HTTP_CONNECTION_H_
