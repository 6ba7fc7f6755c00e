// eventmesh-cli topics delete and groups seek: the administration
// subcommands of `topics` and `groups` (see info.cc).

#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "eventmesh/topic.h"

namespace eventmesh::cli {

using nlohmann::json;

int RunTopicsDelete(const Args& args) {
  if (args.positional.size() != 2) {
    return Usage("topics delete", "expected one TOPIC");
  }
  const std::string& topic = args.positional[1];
  if (Status s = ValidateTopic(topic); !s.ok()) {
    return Usage("topics delete", s.message());
  }
  auto mesh = OpenMesh(args);
  if (!mesh) return kExitFailed;
  Status deleted = mesh->DeleteTopic(topic);
  if (!deleted.ok()) return Fail(deleted);

  // The topic keeps its numbering: say where it goes on.
  uint64_t next = 0;
  auto topics = mesh->Topics();
  if (topics.ok()) {
    for (const TopicInfo& t : *topics) {
      if (t.topic == topic) next = t.last_sequence + 1;
    }
  }
  if (args.Has("json")) {
    json out = {{"topic", topic}, {"deleted", true}};
    if (next > 0) out["next_sequence"] = next;
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf(
        "deleted the events of %s; its next event gets sequence "
        "%llu\n",
        topic.c_str(), static_cast<unsigned long long>(next));
  }
  return mesh->Close().ok() ? kExitOk : kExitFailed;
}

int RunGroupsSeek(const Args& args) {
  if (args.positional.size() != 3) {
    return Usage("groups seek", "expected DURABLE POSITION");
  }
  const std::string& durable = args.positional[1];
  const std::string& text = args.positional[2];
  Result<StartPosition> position = StartPosition::Parse(text);
  if (!position.ok()) return Usage("groups seek", position.status().message());
  auto mesh = OpenMesh(args);
  if (!mesh) return kExitFailed;
  Status moved = mesh->SeekGroup(durable, *position);
  if (!moved.ok()) return Fail(moved);
  if (args.Has("json")) {
    json out = {{"group", durable}, {"position", text}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("moved group %s to %s\n", durable.c_str(), text.c_str());
  }
  return mesh->Close().ok() ? kExitOk : kExitFailed;
}

}  // namespace eventmesh::cli
