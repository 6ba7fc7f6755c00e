// Mesh handles: open and close, publish, subscribe, request and reply,
// and the listings.

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "eventmesh/filter.h"
#include "internal.h"

using eventmesh::capi::Check;
using eventmesh::capi::Fail;
using eventmesh::capi::FailInvalid;
using eventmesh::capi::Str;
using std::chrono::milliseconds;

struct em_subscription {
  // Keeps the Mesh alive until the subscription is gone (see em_mesh).
  std::shared_ptr<eventmesh::Mesh> mesh;
  std::unique_ptr<eventmesh::Subscription> subscription;
};

namespace {

int OutOfMemory() {
  return Fail(eventmesh::ResourceExhausted("out of memory"));
}

int CheckMesh(const em_mesh* mesh) {
  if (mesh == nullptr || !mesh->mesh) return FailInvalid("mesh is NULL");
  return EM_OK;
}

// Maps a C durability onto PublishOptions; false for an unknown value.
bool ToPublishOptions(em_durability durability,
                      eventmesh::PublishOptions* options) {
  switch (durability) {
    case EM_DURABILITY_DEFAULT:
      return true;
    case EM_DURABILITY_SYNC:
    case EM_DURABILITY_BATCH:
    case EM_DURABILITY_NONE:
      options->durability = static_cast<eventmesh::Durability>(durability);
      return true;
  }
  return false;
}

int BadDurability(int durability) {
  return FailInvalid("durability " + std::to_string(durability) +
                     " is not one of the EM_DURABILITY_* values");
}

eventmesh::MeshOptions ToMeshOptions(const em_mesh_options& in) {
  eventmesh::MeshOptions out;
  out.durability = static_cast<eventmesh::Durability>(in.durability);
  out.store.durability = out.durability;
  out.callback_threads = in.callback_threads;
  out.node_id = Str(in.node_id);
  out.token = Str(in.token);
  out.user = Str(in.user);
  out.password = Str(in.password);
  out.connect_timeout = milliseconds(in.connect_timeout_ms);
  out.call_timeout = milliseconds(in.call_timeout_ms);
  out.store.batch_window = milliseconds(in.batch_window_ms);
  out.store.dedup_window = milliseconds(in.dedup_window_ms);
  out.store.max_map_bytes = in.max_map_bytes;
  return out;
}

int CheckMeshOptions(const em_mesh_options& options) {
  if (options.durability < EM_DURABILITY_SYNC ||
      options.durability > EM_DURABILITY_NONE) {
    return BadDurability(options.durability);
  }
  if (options.callback_threads < 1) {
    return FailInvalid("callback_threads must be at least 1, not " +
                       std::to_string(options.callback_threads));
  }
  return EM_OK;
}

// Maps C subscribe options onto the C++ ones, parsing the filter.
int ToSubscribeOptions(const em_subscribe_options& in,
                       eventmesh::SubscribeOptions* out) {
  using eventmesh::StartPosition;
  out->group = Str(in.group);
  out->durable = Str(in.durable);
  switch (in.start) {
    case EM_START_LATEST:
      out->start = StartPosition::Latest();
      break;
    case EM_START_EARLIEST:
      out->start = StartPosition::Earliest();
      break;
    case EM_START_SEQUENCE:
      out->start = StartPosition::Sequence(in.start_sequence);
      break;
    case EM_START_TIME:
      out->start = StartPosition::Time(in.start_time_ns);
      break;
    default:
      return FailInvalid("start " + std::to_string(in.start) +
                         " is not one of the EM_START_* values");
  }
  if (in.overflow != EM_OVERFLOW_BLOCK && in.overflow != EM_OVERFLOW_DROP) {
    return FailInvalid("overflow " + std::to_string(in.overflow) +
                       " is not one of the EM_OVERFLOW_* values");
  }
  if (in.max_deliver < 0) {
    return FailInvalid("max_deliver must not be negative");
  }
  out->manual_ack = in.manual_ack != 0;
  out->ack_wait = milliseconds(in.ack_wait_ms);
  out->max_deliver = in.max_deliver;
  out->max_in_flight = in.max_in_flight;
  out->max_pending = in.max_pending;
  out->overflow = in.overflow == EM_OVERFLOW_DROP
                      ? eventmesh::OverflowPolicy::kDrop
                      : eventmesh::OverflowPolicy::kBlock;
  out->block_timeout = milliseconds(in.block_timeout_ms);
  if (in.filter_json != nullptr && *in.filter_json != '\0') {
    auto filter = eventmesh::Filter::FromJson(in.filter_json);
    if (!filter.ok()) return Fail(filter.status().WithContext("filter"));
    out->filter = std::move(filter).value();
  }
  return EM_OK;
}

// One malloc'd block holding `count` structs followed by their strings,
// so that the caller frees everything with one em_free().
class Block {
 public:
  Block(size_t struct_bytes, size_t string_bytes)
      : base_(static_cast<char*>(std::malloc(struct_bytes + string_bytes + 1))),
        next_(base_ ? base_ + struct_bytes : nullptr) {}
  char* base() const { return base_; }
  const char* Add(const std::string& s) {
    std::memcpy(next_, s.c_str(), s.size() + 1);
    const char* out = next_;
    next_ += s.size() + 1;
    return out;
  }

 private:
  char* base_;
  char* next_;
};

}  // namespace

extern "C" {

void em_mesh_options_init(em_mesh_options* options) {
  if (options == nullptr) return;
  eventmesh::MeshOptions defaults;
  std::memset(options, 0, sizeof(*options));
  options->durability = EM_DURABILITY_SYNC;
  options->callback_threads = defaults.callback_threads;
  options->connect_timeout_ms =
      static_cast<uint32_t>(defaults.connect_timeout.count());
  options->call_timeout_ms =
      static_cast<uint32_t>(defaults.call_timeout.count());
  options->batch_window_ms =
      static_cast<uint32_t>(defaults.store.batch_window.count());
  options->dedup_window_ms =
      static_cast<uint32_t>(milliseconds(defaults.store.dedup_window).count());
  options->max_map_bytes = defaults.store.max_map_bytes;
}

int em_mesh_open(const char* url, const em_mesh_options* options,
                 em_mesh** mesh) {
  if (url == nullptr || mesh == nullptr) {
    return FailInvalid("url and mesh must not be NULL");
  }
  em_mesh_options defaults;
  em_mesh_options_init(&defaults);
  const em_mesh_options& opts = options ? *options : defaults;
  if (int rc = CheckMeshOptions(opts); rc != EM_OK) return rc;

  auto opened = eventmesh::Mesh::Open(url, ToMeshOptions(opts));
  if (!opened.ok()) return Fail(opened.status());
  em_mesh* handle = new (std::nothrow) em_mesh();
  if (handle == nullptr) return OutOfMemory();
  handle->mesh = std::move(opened).value();
  *mesh = handle;
  return EM_OK;
}

void em_mesh_close(em_mesh* mesh) {
  if (mesh == nullptr) return;
  if (mesh->mesh) mesh->mesh->Close().IgnoreError();
  delete mesh;
}

const char* em_mesh_node_id(const em_mesh* mesh) {
  if (mesh == nullptr || !mesh->mesh) return "";
  return mesh->mesh->node_id().c_str();
}

int em_publish(em_mesh* mesh, const char* topic, const em_event* event,
               em_durability durability, uint64_t* sequence) {
  if (int rc = CheckMesh(mesh); rc != EM_OK) return rc;
  if (topic == nullptr || event == nullptr) {
    return FailInvalid("topic and event must not be NULL");
  }
  eventmesh::PublishOptions options;
  if (!ToPublishOptions(durability, &options)) return BadDurability(durability);
  auto published = mesh->mesh->Publish(topic, event->get(), options);
  if (!published.ok()) return Fail(published.status());
  if (sequence) *sequence = *published;
  return EM_OK;
}

int em_publish_async(em_mesh* mesh, const char* topic, const em_event* event,
                     em_durability durability, em_publish_fn done, void* user) {
  if (int rc = CheckMesh(mesh); rc != EM_OK) return rc;
  if (topic == nullptr || event == nullptr) {
    return FailInvalid("topic and event must not be NULL");
  }
  eventmesh::PublishOptions options;
  if (!ToPublishOptions(durability, &options)) return BadDurability(durability);
  mesh->mesh->PublishAsync(
      topic, event->get(),
      [done, user](const eventmesh::Result<uint64_t>& result) {
        if (done == nullptr) return;
        if (result.ok()) {
          done(EM_OK, *result, "", user);
        } else {
          std::string error = result.status().ToString();
          done(static_cast<int>(result.status().code()), 0, error.c_str(),
               user);
        }
      },
      options);
  return EM_OK;
}

int em_publish_batch(em_mesh* mesh, const char* const* topics,
                     const em_event* const* events, size_t count,
                     em_durability durability, uint64_t* sequences) {
  if (int rc = CheckMesh(mesh); rc != EM_OK) return rc;
  if (count > 0 && (topics == nullptr || events == nullptr)) {
    return FailInvalid("topics and events must not be NULL");
  }
  eventmesh::PublishOptions options;
  if (!ToPublishOptions(durability, &options)) return BadDurability(durability);

  std::vector<eventmesh::Event> batch;
  batch.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (topics[i] == nullptr || events[i] == nullptr) {
      return FailInvalid("topic or event " + std::to_string(i) + " is NULL");
    }
    batch.push_back(events[i]->get());
    batch.back().topic = topics[i];
  }
  auto published = mesh->mesh->PublishBatch(std::move(batch), options);
  if (!published.ok()) return Fail(published.status());
  if (sequences) {
    std::copy(published->begin(), published->end(), sequences);
  }
  return EM_OK;
}

void em_subscribe_options_init(em_subscribe_options* options) {
  if (options == nullptr) return;
  eventmesh::SubscribeOptions defaults;
  std::memset(options, 0, sizeof(*options));
  options->start = EM_START_LATEST;
  options->ack_wait_ms = static_cast<uint32_t>(defaults.ack_wait.count());
  options->max_deliver = defaults.max_deliver;
  options->max_in_flight = defaults.max_in_flight;
  options->max_pending = defaults.max_pending;
  options->overflow = EM_OVERFLOW_BLOCK;
  options->block_timeout_ms =
      static_cast<uint32_t>(defaults.block_timeout.count());
}

int em_subscribe(em_mesh* mesh, const char* pattern,
                 const em_subscribe_options* options, em_delivery_fn fn,
                 void* user, em_subscription** subscription) {
  if (int rc = CheckMesh(mesh); rc != EM_OK) return rc;
  if (pattern == nullptr || fn == nullptr || subscription == nullptr) {
    return FailInvalid("pattern, callback and subscription must not be NULL");
  }
  em_subscribe_options defaults;
  em_subscribe_options_init(&defaults);
  eventmesh::SubscribeOptions opts;
  if (int rc = ToSubscribeOptions(options ? *options : defaults, &opts);
      rc != EM_OK) {
    return rc;
  }

  // The delivery handle lives on the callback's stack: no allocation per
  // event unless the callback retains it.
  auto handler = [fn, user](const eventmesh::Delivery& delivery) {
    em_delivery handle{delivery, em_event{}};
    handle.event.shared = delivery.event_ptr();
    fn(&handle, user);
  };
  auto subscribed = mesh->mesh->Subscribe(pattern, handler, opts);
  if (!subscribed.ok()) return Fail(subscribed.status());
  em_subscription* handle = new (std::nothrow) em_subscription();
  if (handle == nullptr) return OutOfMemory();
  handle->mesh = mesh->mesh;
  handle->subscription = std::move(subscribed).value();
  *subscription = handle;
  return EM_OK;
}

int em_unsubscribe(em_subscription* subscription) {
  if (subscription == nullptr) return FailInvalid("subscription is NULL");
  return Check(subscription->subscription->Unsubscribe());
}

void em_subscription_close(em_subscription* subscription) {
  if (subscription == nullptr) return;
  subscription->subscription->Unsubscribe().IgnoreError();
  subscription->subscription.reset();
  delete subscription;
}

int em_subscription_stats_get(const em_subscription* subscription,
                              em_subscription_stats* stats) {
  if (subscription == nullptr || stats == nullptr) {
    return FailInvalid("subscription and stats must not be NULL");
  }
  eventmesh::SubscriptionStats s = subscription->subscription->Stats();
  stats->delivered = s.delivered;
  stats->dropped = s.dropped;
  stats->pending = s.pending;
  stats->in_flight = s.in_flight;
  stats->acked = s.acked;
  stats->redelivered = s.redelivered;
  stats->dead_lettered = s.dead_lettered;
  return EM_OK;
}

const em_event* em_delivery_event(const em_delivery* delivery) {
  return delivery ? &delivery->event : nullptr;
}

uint32_t em_delivery_attempt(const em_delivery* delivery) {
  return delivery ? delivery->delivery.attempt() : 0;
}

int em_delivery_ack(const em_delivery* delivery) {
  if (delivery == nullptr) return FailInvalid("delivery is NULL");
  return Check(delivery->delivery.Ack());
}

int em_delivery_nack(const em_delivery* delivery, uint32_t delay_ms) {
  if (delivery == nullptr) return FailInvalid("delivery is NULL");
  return Check(delivery->delivery.Nack(milliseconds(delay_ms)));
}

em_delivery* em_delivery_retain(const em_delivery* delivery) {
  if (delivery == nullptr) return nullptr;
  return new (std::nothrow) em_delivery(*delivery);
}

void em_delivery_release(em_delivery* delivery) { delete delivery; }

int em_request(em_mesh* mesh, const char* topic, const em_event* request,
               uint32_t timeout_ms, em_event** reply) {
  if (int rc = CheckMesh(mesh); rc != EM_OK) return rc;
  if (topic == nullptr || request == nullptr || reply == nullptr) {
    return FailInvalid("topic, request and reply must not be NULL");
  }
  auto answered =
      mesh->mesh->Request(topic, request->get(), milliseconds(timeout_ms));
  if (!answered.ok()) return Fail(answered.status());
  em_event* out = new (std::nothrow) em_event();
  if (out == nullptr) return OutOfMemory();
  out->owned = std::move(answered).value();
  *reply = out;
  return EM_OK;
}

int em_reply(em_mesh* mesh, const em_event* request, const em_event* reply) {
  if (int rc = CheckMesh(mesh); rc != EM_OK) return rc;
  if (request == nullptr || reply == nullptr) {
    return FailInvalid("request and reply must not be NULL");
  }
  return Check(mesh->mesh->Reply(request->get(), reply->get()));
}

int em_topics(em_mesh* mesh, em_topic_info** topics, size_t* count) {
  if (int rc = CheckMesh(mesh); rc != EM_OK) return rc;
  if (topics == nullptr || count == nullptr) {
    return FailInvalid("topics and count must not be NULL");
  }
  auto listed = mesh->mesh->Topics();
  if (!listed.ok()) return Fail(listed.status());

  size_t string_bytes = 0;
  for (const auto& t : *listed) string_bytes += t.topic.size() + 1;
  Block block(listed->size() * sizeof(em_topic_info), string_bytes);
  if (block.base() == nullptr) return OutOfMemory();
  auto* out = reinterpret_cast<em_topic_info*>(block.base());
  for (size_t i = 0; i < listed->size(); ++i) {
    const eventmesh::TopicInfo& t = (*listed)[i];
    out[i] = {block.Add(t.topic), t.first_sequence, t.last_sequence, t.count,
              t.bytes};
  }
  *topics = out;
  *count = listed->size();
  return EM_OK;
}

int em_groups(em_mesh* mesh, em_group_info** groups, size_t* count) {
  if (int rc = CheckMesh(mesh); rc != EM_OK) return rc;
  if (groups == nullptr || count == nullptr) {
    return FailInvalid("groups and count must not be NULL");
  }
  auto listed = mesh->mesh->Groups();
  if (!listed.ok()) return Fail(listed.status());

  size_t string_bytes = 0;
  for (const auto& g : *listed) {
    string_bytes += g.name.size() + g.pattern.size() + 2;
  }
  Block block(listed->size() * sizeof(em_group_info), string_bytes);
  if (block.base() == nullptr) return OutOfMemory();
  auto* out = reinterpret_cast<em_group_info*>(block.base());
  for (size_t i = 0; i < listed->size(); ++i) {
    const eventmesh::GroupInfo& g = (*listed)[i];
    out[i] = {block.Add(g.name),
              block.Add(g.pattern),
              g.durable ? 1 : 0,
              g.members,
              g.ack_floor,
              g.in_flight,
              g.lag,
              g.delivered,
              g.redelivered,
              g.dead_lettered};
  }
  *groups = out;
  *count = listed->size();
  return EM_OK;
}

int em_mesh_stats_get(em_mesh* mesh, em_mesh_stats* stats) {
  if (int rc = CheckMesh(mesh); rc != EM_OK) return rc;
  if (stats == nullptr) return FailInvalid("stats must not be NULL");
  auto got = mesh->mesh->Stats();
  if (!got.ok()) return Fail(got.status());
  const eventmesh::MeshStats& s = *got;
  *stats = {s.published,      s.duplicates,    s.delivered,
            s.dropped,        s.acked,         s.redelivered,
            s.dead_lettered,  s.subscriptions, s.store.appended,
            s.store.commits,  s.store.syncs,   s.store.bytes_used,
            s.store.map_bytes};
  return EM_OK;
}

int em_delete_topic(em_mesh* mesh, const char* topic) {
  if (int rc = CheckMesh(mesh); rc != EM_OK) return rc;
  if (topic == nullptr) return FailInvalid("topic must not be NULL");
  return Check(mesh->mesh->DeleteTopic(topic));
}

int em_seek_group(em_mesh* mesh, const char* durable, em_start start,
                  uint64_t sequence, int64_t time_ns) {
  using eventmesh::StartPosition;
  if (int rc = CheckMesh(mesh); rc != EM_OK) return rc;
  if (durable == nullptr) return FailInvalid("durable must not be NULL");
  StartPosition position;
  switch (start) {
    case EM_START_LATEST:
      position = StartPosition::Latest();
      break;
    case EM_START_EARLIEST:
      position = StartPosition::Earliest();
      break;
    case EM_START_SEQUENCE:
      position = StartPosition::Sequence(sequence);
      break;
    case EM_START_TIME:
      position = StartPosition::Time(time_ns);
      break;
    default:
      return FailInvalid("start " + std::to_string(start) +
                         " is not one of the EM_START_* values");
  }
  return Check(mesh->mesh->SeekGroup(durable, position));
}

}  // extern "C"
