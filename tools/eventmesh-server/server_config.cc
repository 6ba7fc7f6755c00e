#include "server_config.h"

#include <toml++/toml.h>

#include <set>

#include "net/http/http_client.h"

namespace eventmesh::server {
namespace {

std::string Where(const toml::source_region& source, std::string_view origin) {
  return std::string(origin) + ":" + std::to_string(source.begin.line);
}

// Reads the keys of one table, refusing unknown ones.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string prefix,
              std::string_view origin)
      : table_(table), prefix_(std::move(prefix)), origin_(origin) {}

  Status String(std::string_view key, std::string* out) {
    return Get<std::string>(key, "a string",
                            [&](const std::string& v) { *out = v; });
  }
  Status Bool(std::string_view key, bool* out) {
    return Get<bool>(key, "true or false", [&](bool v) { *out = v; });
  }
  template <typename T>
  Status Unsigned(std::string_view key, T* out) {
    Status status;
    Status got = Get<int64_t>(key, "a whole number", [&](int64_t v) {
      if (v < 0) {
        status = InvalidArgument(Name(key) + " must not be negative");
      } else {
        *out = static_cast<T>(v);
      }
    });
    return got.ok() ? status : got;
  }
  Status Millis(std::string_view key, std::chrono::milliseconds* out) {
    uint64_t ms = 0;
    bool present = table_.contains(key);
    EM_RETURN_IF_ERROR(Unsigned(key, &ms));
    if (present) *out = std::chrono::milliseconds(ms);
    return Status::Ok();
  }
  Status Strings(std::string_view key, std::vector<std::string>* out) {
    seen_.insert(std::string(key));
    const toml::node* node = table_.get(key);
    if (node == nullptr) return Status::Ok();
    const toml::array* array = node->as_array();
    if (array == nullptr) return Wrong(key, "an array of strings", *node);
    out->clear();
    for (const toml::node& item : *array) {
      auto value = item.value<std::string>();
      if (!value) return Wrong(key, "an array of strings", item);
      out->push_back(*value);
    }
    return Status::Ok();
  }
  // Errors for keys nobody asked for.
  Status CheckUnknown() const {
    for (const auto& [key, node] : table_) {
      if (seen_.count(std::string(key.str())) == 0) {
        return InvalidArgument(Where(node.source(), origin_) +
                               ": unknown key '" + Name(key.str()) + "'");
      }
    }
    return Status::Ok();
  }
  void Skip(std::string_view key) { seen_.insert(std::string(key)); }

 private:
  std::string Name(std::string_view key) const {
    return prefix_ + std::string(key);
  }

  Status Wrong(std::string_view key, const char* want,
               const toml::node& node) const {
    return InvalidArgument(Where(node.source(), origin_) + ": '" + Name(key) +
                           "' must be " + want);
  }

  template <typename T, typename F>
  Status Get(std::string_view key, const char* want, F&& set) {
    seen_.insert(std::string(key));
    const toml::node* node = table_.get(key);
    if (node == nullptr) return Status::Ok();
    auto value = node->value_exact<T>();
    if (!value) return Wrong(key, want, *node);
    set(*value);
    return Status::Ok();
  }

  const toml::table& table_;
  std::string prefix_;
  std::string_view origin_;
  std::set<std::string> seen_;
};

Status ApplyDurability(const std::string& name, ServerConfig* config) {
  Durability durability;
  if (!ParseDurability(name, &durability)) {
    return InvalidArgument("durability '" + name +
                           "' is not one of sync, batch, none");
  }
  config->mesh.durability = durability;
  config->mesh.store.durability = durability;
  return Status::Ok();
}

Status ApplyLimits(const toml::table& table, std::string_view origin,
                   ServerConfig* config) {
  net::TcpServerOptions& tcp = config->tcp;
  TableReader r(table, "limits.", origin);
  EM_RETURN_IF_ERROR(r.Unsigned("max_frame_bytes", &tcp.max_frame_bytes));
  EM_RETURN_IF_ERROR(r.Unsigned("max_connections", &tcp.max_connections));
  EM_RETURN_IF_ERROR(r.Unsigned("max_subscriptions_per_connection",
                                &tcp.max_subscriptions_per_connection));
  EM_RETURN_IF_ERROR(r.Unsigned("max_pending_bytes", &tcp.max_pending_bytes));
  EM_RETURN_IF_ERROR(r.Millis("heartbeat_ms", &tcp.heartbeat));
  EM_RETURN_IF_ERROR(r.Millis("hello_timeout_ms", &tcp.hello_timeout));
  if (tcp.max_frame_bytes < 1024) {
    return InvalidArgument("limits.max_frame_bytes must be at least 1024");
  }
  if (tcp.heartbeat.count() < 10) {
    return InvalidArgument("limits.heartbeat_ms must be at least 10");
  }
  return r.CheckUnknown();
}

Status ApplyStore(const toml::table& table, std::string_view origin,
                  ServerConfig* config) {
  StoreOptions& store = config->mesh.store;
  TableReader r(table, "store.", origin);
  EM_RETURN_IF_ERROR(r.Millis("batch_window_ms", &store.batch_window));
  EM_RETURN_IF_ERROR(r.Millis("dedup_window_ms", &store.dedup_window));
  EM_RETURN_IF_ERROR(r.Unsigned("initial_map_bytes", &store.initial_map_bytes));
  EM_RETURN_IF_ERROR(r.Unsigned("max_map_bytes", &store.max_map_bytes));
  return r.CheckUnknown();
}

Status ApplyUser(const toml::table& table, std::string_view origin,
                 ServerConfig* config) {
  net::UserConfig user;
  TableReader r(table, "users.", origin);
  EM_RETURN_IF_ERROR(r.String("name", &user.name));
  EM_RETURN_IF_ERROR(r.String("token", &user.token));
  EM_RETURN_IF_ERROR(r.String("password", &user.password));
  EM_RETURN_IF_ERROR(r.Strings("publish", &user.publish));
  EM_RETURN_IF_ERROR(r.Strings("subscribe", &user.subscribe));
  EM_RETURN_IF_ERROR(r.Bool("admin", &user.admin));
  EM_RETURN_IF_ERROR(r.CheckUnknown());
  config->tcp.users.push_back(std::move(user));
  return Status::Ok();
}

Status ApplyHttp(const toml::table& table, std::string_view origin,
                 ServerConfig* config) {
  http::HttpOptions& h = config->http;
  TableReader r(table, "http.", origin);
  EM_RETURN_IF_ERROR(r.String("listen", &config->http_listen));
  EM_RETURN_IF_ERROR(r.String("admin_token", &h.admin_token));
  EM_RETURN_IF_ERROR(
      r.Unsigned("max_header_bytes", &h.limits.max_header_bytes));
  EM_RETURN_IF_ERROR(r.Unsigned("max_headers", &h.limits.max_headers));
  EM_RETURN_IF_ERROR(r.Unsigned("max_body_bytes", &h.limits.max_body_bytes));
  EM_RETURN_IF_ERROR(r.Millis("header_timeout_ms", &h.header_timeout));
  EM_RETURN_IF_ERROR(r.Millis("request_timeout_ms", &h.request_timeout));
  EM_RETURN_IF_ERROR(r.Millis("idle_timeout_ms", &h.idle_timeout));
  EM_RETURN_IF_ERROR(r.Unsigned("max_connections", &h.max_connections));
  EM_RETURN_IF_ERROR(r.Unsigned("max_pipeline", &h.max_pipeline));
  EM_RETURN_IF_ERROR(
      r.Unsigned("max_stream_buffer_bytes", &h.max_stream_buffer));
  EM_RETURN_IF_ERROR(
      r.Millis("max_request_timeout_ms", &h.max_request_timeout));
  EM_RETURN_IF_ERROR(
      r.Strings("webhook_allowed_networks", &h.webhook_allowed_networks));
  EM_RETURN_IF_ERROR(r.Millis("webhook_timeout_ms", &h.webhook_timeout));
  EM_RETURN_IF_ERROR(
      r.Millis("webhook_retry_initial_ms", &h.webhook_retry_initial));
  EM_RETURN_IF_ERROR(r.Millis("webhook_retry_max_ms", &h.webhook_retry_max));
  EM_RETURN_IF_ERROR(
      r.Unsigned("webhook_max_attempts", &h.webhook_max_attempts));
  EM_RETURN_IF_ERROR(r.String("webhook_origin", &h.webhook_origin));
  if (h.limits.max_header_bytes < 1024) {
    return InvalidArgument("http.max_header_bytes must be at least 1024");
  }
  if (h.max_pipeline == 0 || h.webhook_max_attempts <= 0) {
    return InvalidArgument(
        "http.max_pipeline and http.webhook_max_attempts must be positive");
  }
  for (const std::string& cidr : h.webhook_allowed_networks) {
    EM_RETURN_IF_ERROR(http::Network::Parse(cidr).status().WithContext(
        "http.webhook_allowed_networks"));
  }
  return r.CheckUnknown();
}

Status ApplyCluster(const toml::table& table, std::string_view origin,
                    ServerConfig* config) {
  cluster::ClusterOptions& c = config->cluster;
  cluster::CurveOptions& curve = c.curve;
  TableReader r(table, "cluster.", origin);
  EM_RETURN_IF_ERROR(r.String("node_id", &config->mesh.node_id));
  EM_RETURN_IF_ERROR(r.String("listen", &c.listen));
  EM_RETURN_IF_ERROR(r.String("advertise", &c.advertise));
  EM_RETURN_IF_ERROR(r.Strings("seeds", &c.seeds));
  EM_RETURN_IF_ERROR(r.Millis("down_after_ms", &c.down_after));
  EM_RETURN_IF_ERROR(r.Millis("heartbeat_ms", &c.heartbeat_interval));
  EM_RETURN_IF_ERROR(r.String("curve_server_public", &curve.server_public));
  EM_RETURN_IF_ERROR(r.String("curve_server_secret", &curve.server_secret));
  EM_RETURN_IF_ERROR(r.String("curve_public", &curve.public_key));
  EM_RETURN_IF_ERROR(r.String("curve_secret", &curve.secret_key));
  EM_RETURN_IF_ERROR(r.Strings("curve_allowed", &curve.allowed));
  if (c.down_after.count() < 100) {
    return InvalidArgument("cluster.down_after_ms must be at least 100");
  }
  config->cluster_enabled = true;
  return r.CheckUnknown();
}

}  // namespace

Status SplitHostPort(std::string_view text, std::string* host, int* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return InvalidArgument("'" + std::string(text) +
                           "' is not host:port (e.g. 127.0.0.1:10105)");
  }
  std::string_view h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  std::string p(text.substr(colon + 1));
  char* end = nullptr;
  long n = std::strtol(p.c_str(), &end, 10);
  if (h.empty() || *end != '\0' || n < 0 || n > 65535) {
    return InvalidArgument("'" + std::string(text) +
                           "' is not host:port (e.g. 127.0.0.1:10105)");
  }
  *host = std::string(h);
  *port = static_cast<int>(n);
  return Status::Ok();
}

bool ParseLogLevel(std::string_view name, LogLevel* level) {
  for (int i = 0; i <= static_cast<int>(LogLevel::kOff); ++i) {
    if (LogLevelName(static_cast<LogLevel>(i)) == name) {
      *level = static_cast<LogLevel>(i);
      return true;
    }
  }
  return false;
}

Status ApplyToml(std::string_view text, std::string_view origin,
                 ServerConfig* config) {
  // Debian's toml++ is built with exceptions: parse errors are thrown.
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& error) {
    return InvalidArgument(Where(error.source(), origin) + ": " +
                           std::string(error.description()));
  }
  TableReader r(root, "", origin);
  std::string durability, log_level;
  EM_RETURN_IF_ERROR(r.String("listen", &config->tcp.listen));
  EM_RETURN_IF_ERROR(r.String("data", &config->data));
  EM_RETURN_IF_ERROR(r.String("durability", &durability));
  EM_RETURN_IF_ERROR(r.String("log_level", &log_level));
  EM_RETURN_IF_ERROR(r.String("node_id", &config->mesh.node_id));
  int callback_threads = config->mesh.callback_threads;
  EM_RETURN_IF_ERROR(r.Unsigned("callback_threads", &callback_threads));
  config->mesh.callback_threads = std::max(1, callback_threads);
  if (!durability.empty())
    EM_RETURN_IF_ERROR(ApplyDurability(durability, config));
  if (!log_level.empty() && !ParseLogLevel(log_level, &config->log_level)) {
    return InvalidArgument(
        std::string(origin) + ": log_level '" + log_level +
        "' is not one of trace, debug, info, warn, error, off");
  }
  r.Skip("cluster");
  if (const toml::node* node = root.get("cluster")) {
    if (!node->is_table()) {
      return InvalidArgument(Where(node->source(), origin) +
                             ": 'cluster' must be a table");
    }
    EM_RETURN_IF_ERROR(ApplyCluster(*node->as_table(), origin, config));
  }
  for (const char* section : {"limits", "store", "users", "http"}) {
    r.Skip(section);
    const toml::node* node = root.get(section);
    if (node == nullptr) continue;
    if (std::string_view(section) == "users") {
      const toml::array* users = node->as_array();
      if (users == nullptr) {
        return InvalidArgument(Where(node->source(), origin) +
                               ": 'users' must be an array of tables "
                               "([[users]])");
      }
      for (const toml::node& user : *users) {
        if (!user.is_table()) {
          return InvalidArgument(Where(user.source(), origin) +
                                 ": each [[users]] entry must be a table");
        }
        EM_RETURN_IF_ERROR(ApplyUser(*user.as_table(), origin, config));
      }
      continue;
    }
    const toml::table* table = node->as_table();
    if (table == nullptr) {
      return InvalidArgument(Where(node->source(), origin) + ": '" + section +
                             "' must be a table");
    }
    std::string_view name = section;
    EM_RETURN_IF_ERROR(name == "limits" ? ApplyLimits(*table, origin, config)
                       : name == "http" ? ApplyHttp(*table, origin, config)
                                        : ApplyStore(*table, origin, config));
  }
  return r.CheckUnknown();
}

Status ApplyEnvironment(const std::map<std::string, std::string>& env,
                        ServerConfig* config) {
  auto get = [&](const char* name) -> const std::string* {
    auto it = env.find(name);
    return it == env.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (auto* v = get("EVENTMESH_LISTEN")) config->tcp.listen = *v;
  if (auto* v = get("EVENTMESH_DATA")) config->data = *v;
  if (auto* v = get("EVENTMESH_HTTP_LISTEN")) config->http_listen = *v;
  if (auto* v = get("EVENTMESH_ADMIN_TOKEN")) config->http.admin_token = *v;
  if (auto* v = get("EVENTMESH_DURABILITY")) {
    EM_RETURN_IF_ERROR(
        ApplyDurability(*v, config).WithContext("EVENTMESH_DURABILITY"));
  }
  if (auto* v = get("EVENTMESH_LOG_LEVEL")) {
    if (!ParseLogLevel(*v, &config->log_level)) {
      return InvalidArgument("EVENTMESH_LOG_LEVEL '" + *v +
                             "' is not one of trace, debug, info, warn, "
                             "error, off");
    }
  }
  if (auto* v = get("EVENTMESH_MAX_CONNECTIONS")) {
    char* end = nullptr;
    unsigned long long n = std::strtoull(v->c_str(), &end, 10);
    if (end == v->c_str() || *end != '\0') {
      return InvalidArgument("EVENTMESH_MAX_CONNECTIONS '" + *v +
                             "' is not a number");
    }
    config->tcp.max_connections = static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace eventmesh::server
