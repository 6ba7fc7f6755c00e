// Topic names and subscription patterns.
//
// A topic is tokens separated by '.', each token one or more of letters,
// digits, '_', '-' and ':', at most 255 bytes and 32 tokens in all. A
// pattern may also use '*' as a whole token (exactly one token) and '>' as
// the last token (one or more tokens). Names starting with '$' belong to
// the mesh: "$SYS.>", "$DLQ.>" and "$INBOX.>"; their first token is '$'
// followed by token characters. A wildcard as a pattern's first token
// does not match them (">" does not receive dead letters; "$DLQ.>" does).
//
// All functions here are pure and thread-safe.

#ifndef EVENTMESH_TOPIC_H_
#define EVENTMESH_TOPIC_H_

#include <string_view>

#include "eventmesh/status.h"

namespace eventmesh {

inline constexpr size_t kMaxTopicBytes = 255;
inline constexpr size_t kMaxTopicTokens = 32;

// OK for a valid topic name to publish to; otherwise kInvalidArgument with
// a message naming the topic and the rule it broke.
Status ValidateTopic(std::string_view topic);

// OK for a valid subscription pattern; otherwise kInvalidArgument naming
// the rule it broke.
Status ValidatePattern(std::string_view pattern);

// True when the (valid) `pattern` matches the (valid) `topic`.
bool PatternMatches(std::string_view pattern, std::string_view topic);

// True for names reserved to the mesh (starting with '$').
inline bool IsSystemTopic(std::string_view topic) {
  return !topic.empty() && topic.front() == '$';
}

}  // namespace eventmesh

#endif  // EVENTMESH_TOPIC_H_
