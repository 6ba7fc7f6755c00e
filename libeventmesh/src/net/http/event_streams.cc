#include "net/http/event_streams.h"

#include <charconv>
#include <utility>
#include <vector>

#include "eventmesh/clock.h"
#include "eventmesh/filter.h"
#include "eventmesh/topic.h"

namespace eventmesh::http {

namespace {

// Idle streams get a comment line this often, so proxies keep them open.
constexpr int64_t kHeartbeatMillis = 15000;

bool ParseUint(std::string_view text, uint64_t* value) {
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool IsSingleTopic(std::string_view pattern) {
  return ValidateTopic(pattern).ok();
}

}  // namespace

Result<StreamStart> ParseStreamCursor(std::string_view id, bool single_topic) {
  StreamStart start;
  uint64_t sequence = 0;
  if (single_topic) {
    if (!ParseUint(id, &sequence)) {
      return InvalidArgument("Last-Event-ID '" + std::string(id) +
                             "' is not a sequence number");
    }
    start.position = StartPosition::Sequence(sequence + 1);
    return start;
  }
  size_t first = id.find(':');
  size_t last = id.rfind(':');
  uint64_t nanos = 0;
  if (first == std::string_view::npos || first == last ||
      !ParseUint(id.substr(0, first), &nanos) ||
      !ParseUint(id.substr(last + 1), &sequence)) {
    return InvalidArgument("Last-Event-ID '" + std::string(id) +
                           "' is not a cursor of the form "
                           "<nanos>:<topic>:<sequence>");
  }
  start.position = StartPosition::Time(static_cast<int64_t>(nanos));
  start.skip_stored_at = static_cast<int64_t>(nanos);
  start.skip_topic = std::string(id.substr(first + 1, last - first - 1));
  start.skip_sequence = sequence;
  return start;
}

std::string FormatSseEvent(const Event& event, bool single_topic) {
  std::string out = "id: ";
  if (single_topic) {
    out += std::to_string(event.sequence);
  } else {
    out += std::to_string(event.stored_at_nanos) + ":" + event.topic + ":" +
           std::to_string(event.sequence);
  }
  out += '\n';
  // A data field cannot hold a line break: each line gets its own field.
  std::string json = EncodeJson(event, true);
  size_t begin = 0;
  while (begin <= json.size()) {
    size_t nl = json.find('\n', begin);
    if (nl == std::string::npos) nl = json.size();
    out += "data: ";
    out.append(json, begin, nl - begin);
    out += '\n';
    begin = nl + 1;
  }
  out += '\n';
  return out;
}

struct EventStreams::Stream {
  Exchange exchange;
  std::unique_ptr<Subscription> subscription;
  int64_t last_write_ms = 0;
};

EventStreams::EventStreams(HttpServer* server) : server_(server) {}

EventStreams::~EventStreams() { Stop(); }

void EventStreams::Open(const Exchange& ex, const Request& req,
                        std::string pattern) {
  if (Status s = ValidatePattern(pattern); !s.ok()) {
    return server_->Respond(ex, ErrorResponse(s));
  }
  bool single = IsSingleTopic(pattern);

  // Where to start: Last-Event-ID wins over ?from=.
  StreamStart start;
  const std::string* last_id = req.FindHeader("last-event-id");
  std::optional<std::string> from = req.QueryParam("from");
  if (last_id != nullptr && !last_id->empty()) {
    auto parsed = ParseStreamCursor(*last_id, single);
    if (!parsed.ok())
      return server_->Respond(ex, ErrorResponse(parsed.status()));
    start = std::move(parsed).value();
  } else if (from) {
    auto parsed = StartPosition::Parse(*from);
    if (!parsed.ok())
      return server_->Respond(ex, ErrorResponse(parsed.status()));
    start.position = *parsed;
  }
  SubscribeOptions options;
  options.start = start.position;
  options.overflow = OverflowPolicy::kDrop;
  if (auto filter = req.QueryParam("filter")) {
    auto parsed = Filter::FromJson(*filter);
    if (!parsed.ok())
      return server_->Respond(ex, ErrorResponse(parsed.status()));
    options.filter = *parsed;
  }

  uint64_t id = next_id_++;
  auto core = server_->inbox().core();
  auto handler = [this, core, id, single,
                  start](const std::vector<Delivery>& batch) {
    // Formatting here keeps JSON encoding off the loop thread.
    std::string text;
    uint64_t events = 0, bytes = 0;
    int64_t now = WallNanos();
    for (const Delivery& d : batch) {
      const Event& e = d.event();
      if (e.stored_at_nanos == start.skip_stored_at &&
          e.topic == start.skip_topic && e.sequence <= start.skip_sequence) {
        continue;
      }
      text += FormatSseEvent(e, single);
      ++events;
      bytes += e.data.size();
      server_->stats().delivery_latency->Observe(
          static_cast<double>(now - e.stored_at_nanos) / 1e9);
    }
    if (events == 0) return;
    core->Post([this, id, text = std::move(text), events, bytes] {
      Deliver(id, text, events, bytes);
    });
  };
  auto subscription =
      server_->mesh()->SubscribeBatch(pattern, std::move(handler), options);
  if (!subscription.ok()) {
    return server_->Respond(ex, ErrorResponse(subscription.status()));
  }

  auto stream = std::make_unique<Stream>();
  stream->exchange = ex;
  stream->subscription = std::move(subscription).value();
  stream->last_write_ms = static_cast<int64_t>(uv_now(server_->loop()));
  streams_.emplace(id, std::move(stream));
  Response head;
  head.headers = {{"Content-Type", "text/event-stream"},
                  {"Cache-Control", "no-cache"},
                  {"X-Accel-Buffering", "no"}};
  head.body = "retry: 1000\n\n";
  if (!server_->BeginStream(ex, std::move(head), [this, id] { Remove(id); })) {
    Remove(id);
  }
}

void EventStreams::Deliver(uint64_t id, const std::string& text,
                           uint64_t events, uint64_t bytes) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  it->second->last_write_ms = static_cast<int64_t>(uv_now(server_->loop()));
  if (server_->StreamWrite(it->second->exchange, text)) {
    server_->stats().delivered->Inc(events);
    server_->stats().delivered_bytes->Inc(bytes);
  }
}

void EventStreams::Remove(uint64_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  std::unique_ptr<Stream> stream = std::move(it->second);
  streams_.erase(it);
  stream->subscription->Unsubscribe().IgnoreError();
}

void EventStreams::Stop() {
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : streams) {
    stream->subscription->Unsubscribe().IgnoreError();
  }
}

void EventStreams::Tick() {
  int64_t now = static_cast<int64_t>(uv_now(server_->loop()));
  std::vector<uint64_t> lost;
  for (auto& [id, stream] : streams_) {
    // A stream that dropped events must not go on with a gap: closing it
    // makes the client resume from its last event.
    if (stream->subscription->Stats().dropped > 0) {
      lost.push_back(id);
      continue;
    }
    if (now - stream->last_write_ms >= kHeartbeatMillis) {
      stream->last_write_ms = now;
      server_->StreamWrite(stream->exchange, ": keep-alive\n\n");
    }
  }
  for (uint64_t id : lost) {
    auto it = streams_.find(id);
    if (it == streams_.end()) continue;
    Exchange ex = it->second->exchange;
    Remove(id);
    server_->CloseConnection(ex.connection);
  }
}

}  // namespace eventmesh::http
