// The JSON form of TopicInfo and GroupInfo, shared by the HTTP admin API
// and `eventmesh-cli --json` so both print the same fields. Header-only:
// the CLI links the library but sees none of its internal symbols.

#ifndef EVENTMESH_SRC_UTIL_INFO_JSON_H_
#define EVENTMESH_SRC_UTIL_INFO_JSON_H_

#include <nlohmann/json.hpp>

#include "eventmesh/mesh.h"
#include "eventmesh/store.h"

namespace eventmesh {

inline nlohmann::json TopicInfoJson(const TopicInfo& t) {
  return {{"topic", t.topic},
          {"first_sequence", t.first_sequence},
          {"last_sequence", t.last_sequence},
          {"count", t.count},
          {"bytes", t.bytes}};
}

inline nlohmann::json GroupInfoJson(const GroupInfo& g) {
  return {{"name", g.name},
          {"pattern", g.pattern},
          {"durable", g.durable},
          {"members", g.members},
          {"ack_floor", g.ack_floor},
          {"in_flight", g.in_flight},
          {"lag", g.lag},
          {"delivered", g.delivered},
          {"redelivered", g.redelivered},
          {"dead_lettered", g.dead_lettered}};
}

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_UTIL_INFO_JSON_H_
