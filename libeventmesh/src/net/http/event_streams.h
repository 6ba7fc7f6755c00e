// EventStreams: subscriptions streamed to HTTP clients as Server-Sent
// Events (GET /topics/{pattern}/events with Accept: text/event-stream).
//
// Each event is one SSE message: "id" is a resumable cursor and "data" the
// event in the CloudEvents JSON format with the mesh's topic, sequence and
// storedat. There is no "event" field, so EventSource.onmessage sees all. A
// client that reconnects with Last-Event-ID continues after that event:
// - for a single topic the cursor is the topic sequence and the stream
//   resumes exactly after it;
// - for a pattern the cursor is "<storedat nanos>:<topic>:<sequence>" and
//   the stream restarts at that stored time, skipping the cursor's own
//   event; other events stored in the same nanosecond may come again
//   (at-least-once).
// A stream that falls behind (its queue overflows, or the client reads too
// slowly) is closed, so the client reconnects and resumes without a gap.
//
// Thread-safety: loop thread only; subscription handlers post to the loop.

#ifndef EVENTMESH_SRC_NET_HTTP_EVENT_STREAMS_H_
#define EVENTMESH_SRC_NET_HTTP_EVENT_STREAMS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "eventmesh/mesh.h"
#include "net/http/http_server.h"

namespace eventmesh::http {

// Where a stream starts, from Last-Event-ID or ?from=.
struct StreamStart {
  StartPosition position;
  // With a pattern cursor: the event to skip (already seen).
  int64_t skip_stored_at = 0;
  std::string skip_topic;
  uint64_t skip_sequence = 0;
};

// Parses a Last-Event-ID for a single-topic (`single_topic`) or pattern
// stream. kInvalidArgument when it is not a cursor this server wrote.
Result<StreamStart> ParseStreamCursor(std::string_view last_event_id,
                                      bool single_topic);
// The SSE message for one event.
std::string FormatSseEvent(const Event& event, bool single_topic);

class EventStreams {
 public:
  explicit EventStreams(HttpServer* server);
  ~EventStreams();

  void Open(const Exchange& ex, const Request& req, std::string pattern);
  // Ends every stream's subscription.
  void Stop();
  // Heartbeats for idle streams; closes streams that lost events.
  void Tick();

 private:
  struct Stream;
  void Deliver(uint64_t id, const std::string& text, uint64_t events,
               uint64_t bytes);
  void Remove(uint64_t id);

  HttpServer* server_;
  std::unordered_map<uint64_t, std::unique_ptr<Stream>> streams_;
  uint64_t next_id_ = 1;
};

}  // namespace eventmesh::http

#endif  // EVENTMESH_SRC_NET_HTTP_EVENT_STREAMS_H_
