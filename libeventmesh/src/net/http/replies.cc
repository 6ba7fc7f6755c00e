#include "net/http/replies.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "net/http/cloudevents_binding.h"
#include "util/log_internal.h"

namespace eventmesh::http {

namespace {

constexpr int64_t kDefaultTimeoutMs = 5000;

struct TimerData {
  Replies* replies;
  uint64_t n;
};

}  // namespace

Replies::Replies(HttpServer* server) : server_(server) {
  std::string random = NewEventId();
  random.erase(std::remove(random.begin(), random.end(), '-'), random.end());
  prefix_ = "$INBOX.http-" + random;
}

Replies::~Replies() = default;

void Replies::Start() {
  auto core = server_->inbox().core();
  auto handler = [this, core](const std::vector<Delivery>& batch) {
    for (const Delivery& d : batch) {
      core->Post([this, topic = d.event().topic, event = d.event()] {
        OnReply(topic, event);
      });
    }
  };
  auto sub = server_->mesh()->SubscribeBatch(prefix_ + ".>", handler);
  if (!sub.ok()) {
    start_status_ = sub.status();
    EM_LOG(kWarn, "http",
           "request/reply is unavailable: " << sub.status().ToString());
    return;
  }
  subscription_ = std::move(sub).value();
}

void Replies::Stop() {
  if (subscription_) subscription_->Unsubscribe().IgnoreError();
  std::vector<uint64_t> waiting;
  for (auto& [n, p] : pending_) waiting.push_back(n);
  for (uint64_t n : waiting) {
    Finish(n, Response::Error(503, "the server is stopping"));
  }
}

void Replies::Request(const Exchange& ex, const http::Request& req,
                      std::string topic) {
  if (!subscription_) {
    return server_->Respond(
        ex, Response::Error(503, "request/reply is unavailable: " +
                                     start_status_.ToString()));
  }
  int64_t timeout_ms = kDefaultTimeoutMs;
  if (auto t = req.QueryParam("timeout")) {
    if (!ParseDurationMillis(*t, &timeout_ms) || timeout_ms == 0) {
      return server_->Respond(
          ex, Response::Error(400,
                              "timeout must be a duration such as "
                              "500ms, 5s or 1m"));
    }
  }
  timeout_ms = std::min<int64_t>(
      timeout_ms, server_->options().max_request_timeout.count());
  auto mode = DetectMode(req);
  if (mode.ok() && *mode == BindingMode::kBatch) {
    return server_->Respond(
        ex, Response::Error(400, "a request is one event, not a batch"));
  }
  auto events = DecodeEvents(req);
  if (!events.ok()) return server_->Respond(ex, ErrorResponse(events.status()));
  Event event = std::move((*events)[0]);
  if (event.id.empty()) event.id = NewEventId();

  uint64_t n = next_++;
  event.SetExtension(kReplyToAttribute, prefix_ + "." + std::to_string(n));
  event.SetExtension(kCorrelationIdAttribute, event.id);
  Pending& pending = pending_[n];
  pending.exchange = ex;
  pending.timeout_ms = timeout_ms;
  pending.timer = new uv_timer_t;
  pending.timer->data = new TimerData{this, n};
  uv_timer_init(server_->loop(), pending.timer);
  ++open_timers_;
  uv_timer_start(
      pending.timer,
      [](uv_timer_t* t) {
        auto* data = static_cast<TimerData*>(t->data);
        data->replies->OnTimeout(data->n);
        data->replies->server_->FlushDirty();
      },
      static_cast<uint64_t>(timeout_ms), 0);

  auto core = server_->inbox().core();
  server_->mesh()->PublishAsync(
      topic, std::move(event), [this, core, n](const Result<uint64_t>& result) {
        if (result.ok()) return;
        core->Post([this, n, status = result.status()] {
          Finish(n, ErrorResponse(status));
        });
      });
}

void Replies::OnReply(const std::string& reply_topic, Event reply) {
  std::string_view suffix(reply_topic);
  if (suffix.size() <= prefix_.size() + 1) return;
  suffix.remove_prefix(prefix_.size() + 1);
  uint64_t n = 0;
  auto [end, ec] =
      std::from_chars(suffix.data(), suffix.data() + suffix.size(), n);
  if (ec != std::errc() || end != suffix.data() + suffix.size()) return;
  Response response;
  response.body = EncodeBinaryMode(reply, false, &response.headers);
  Finish(n, std::move(response));
}

void Replies::OnTimeout(uint64_t n) {
  auto it = pending_.find(n);
  if (it == pending_.end()) return;
  Finish(n, Response::Error(504, "no reply within " +
                                     std::to_string(it->second.timeout_ms) +
                                     " ms"));
}

void Replies::Finish(uint64_t n, Response response) {
  auto it = pending_.find(n);
  if (it == pending_.end()) return;  // answered already; later replies drop
  Pending pending = std::move(it->second);
  pending_.erase(it);
  server_->Respond(pending.exchange, std::move(response));
  uv_timer_stop(pending.timer);
  uv_close(reinterpret_cast<uv_handle_t*>(pending.timer), [](uv_handle_t* h) {
    auto* data = static_cast<TimerData*>(h->data);
    Replies* self = data->replies;
    delete data;
    delete reinterpret_cast<uv_timer_t*>(h);
    --self->open_timers_;
    self->server_->MaybeFinishStop();
  });
}

}  // namespace eventmesh::http
