#include "eventmesh/topic.h"

#include <array>
#include <cstdio>
#include <string>

namespace eventmesh {
namespace {

// Names longer than this are cut in error messages; the message must stay
// readable when someone passes a megabyte of text as a topic.
constexpr size_t kMaxQuotedBytes = 64;

// Which rules apply: topics name one place, patterns may use wildcards.
enum class NameKind { kTopic, kPattern };

const char* KindWord(NameKind kind) {
  return kind == NameKind::kTopic ? "topic" : "pattern";
}

constexpr bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == ':';
}

constexpr std::array<bool, 256> MakeTokenCharTable() {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = IsTokenChar(static_cast<char>(c));
  return table;
}

constexpr std::array<bool, 256> kTokenChar = MakeTokenCharTable();

// True for a topic without wildcards that breaks no rule, in one pass and
// without building a message. Publishing checks every topic, so this is
// the path that must be fast; anything it does not accept goes through
// ValidateName, which finds the rule broken (or accepts the name).
bool IsPlainValidTopic(std::string_view name) {
  if (name.empty() || name.size() > kMaxTopicBytes) return false;
  size_t i = 0;
  // "$SYS...": the '$' must be followed by a token character.
  if (name[0] == '$') {
    if (name.size() < 2 || !kTokenChar[static_cast<unsigned char>(name[1])]) {
      return false;
    }
    i = 1;
  }
  size_t tokens = 1;
  size_t token_start = 0;
  for (; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (kTokenChar[c]) continue;
    if (c != '.' || i == token_start) return false;
    ++tokens;
    token_start = i + 1;
  }
  return token_start != name.size() && tokens <= kMaxTopicTokens;
}

// Appends `c` as it reads in a message: itself when printable ASCII,
// otherwise "\xNN".
void AppendReadableChar(char c, std::string* out) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) {
    out->push_back(c);
    return;
  }
  char hex[8];
  std::snprintf(hex, sizeof(hex), "\\x%02x", u);
  out->append(hex);
}

// "'text'", with unprintable bytes escaped and long text cut to a prefix.
std::string Quote(std::string_view text) {
  std::string out = "'";
  size_t shown = text.size() <= kMaxQuotedBytes ? text.size() : kMaxQuotedBytes;
  for (size_t i = 0; i < shown; ++i) AppendReadableChar(text[i], &out);
  if (shown < text.size()) out += "...";
  out += "'";
  return out;
}

// "topic 'a.b'" or "pattern 'a.*'": how every message names its subject.
std::string Subject(NameKind kind, std::string_view name) {
  return std::string(KindWord(kind)) + " " + Quote(name);
}

size_t CountTokens(std::string_view name) {
  size_t tokens = 1;
  for (char c : name) tokens += (c == '.');
  return tokens;
}

// Checks the rules about the whole name before looking at tokens.
Status CheckShape(NameKind kind, std::string_view name) {
  if (name.empty()) {
    return InvalidArgument(std::string(KindWord(kind)) +
                           " is empty; give at least one token, e.g. "
                           "'orders.created'");
  }
  if (name.size() > kMaxTopicBytes) {
    return InvalidArgument(Subject(kind, name) + " is " +
                           std::to_string(name.size()) +
                           " bytes long; at most " +
                           std::to_string(kMaxTopicBytes) + " are allowed");
  }
  size_t tokens = CountTokens(name);
  if (tokens > kMaxTopicTokens) {
    return InvalidArgument(Subject(kind, name) + " has " +
                           std::to_string(tokens) + " tokens; at most " +
                           std::to_string(kMaxTopicTokens) + " are allowed");
  }
  return Status::Ok();
}

// A '$' is allowed only as the first byte of the first token, followed by
// at least one token character: "$SYS", "$DLQ", "$INBOX".
Status CheckSystemPrefix(NameKind kind, std::string_view name,
                         std::string_view token) {
  if (token.size() == 1) {
    return InvalidArgument(
        Subject(kind, name) +
        " starts with the token '$', which needs a name after the '$' "
        "(names reserved to the mesh look like '$SYS')");
  }
  return Status::Ok();
}

Status CheckWildcardToken(NameKind kind, std::string_view name,
                          std::string_view token, size_t position,
                          bool is_last) {
  if (kind == NameKind::kTopic) {
    return InvalidArgument(Subject(kind, name) + " has the wildcard '" +
                           std::string(token) + "' at position " +
                           std::to_string(position) +
                           "; wildcards are allowed only in subscription "
                           "patterns, a topic to publish to names one topic");
  }
  if (token == ">" && !is_last) {
    return InvalidArgument(Subject(kind, name) + " has '>' at position " +
                           std::to_string(position) +
                           ", but '>' must be the last token");
  }
  return Status::Ok();
}

Status BadCharacter(NameKind kind, std::string_view name,
                    std::string_view token, char c) {
  std::string message =
      Subject(kind, name) + ": token " + Quote(token) + " contains '";
  AppendReadableChar(c, &message);
  message += "', which is not a letter, digit, '_', '-' or ':'";
  if (c == '*' || c == '>') {
    message += "; a wildcard must be a whole token";
  } else if (c == '$') {
    message += "; '$' may only start the first token, as in '$SYS'";
  }
  return InvalidArgument(std::move(message));
}

// Checks one token; `position` counts from 1.
Status CheckToken(NameKind kind, std::string_view name, std::string_view token,
                  size_t position, bool is_last) {
  if (token.empty()) {
    return InvalidArgument(Subject(kind, name) +
                           " has an empty token at position " +
                           std::to_string(position));
  }
  if (token == "*" || token == ">") {
    return CheckWildcardToken(kind, name, token, position, is_last);
  }
  size_t first = 0;
  if (position == 1 && token.front() == '$') {
    EM_RETURN_IF_ERROR(CheckSystemPrefix(kind, name, token));
    first = 1;
  }
  for (size_t i = first; i < token.size(); ++i) {
    if (!IsTokenChar(token[i])) {
      return BadCharacter(kind, name, token, token[i]);
    }
  }
  return Status::Ok();
}

Status ValidateName(NameKind kind, std::string_view name) {
  EM_RETURN_IF_ERROR(CheckShape(kind, name));
  size_t position = 1;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    bool is_last = dot == std::string_view::npos;
    size_t end = is_last ? name.size() : dot;
    EM_RETURN_IF_ERROR(CheckToken(kind, name, name.substr(start, end - start),
                                  position, is_last));
    if (is_last) return Status::Ok();
    start = dot + 1;
    ++position;
  }
}

// Splits the next token off the front of `*rest`.
std::string_view NextToken(std::string_view* rest) {
  size_t dot = rest->find('.');
  std::string_view token = rest->substr(0, dot);
  rest->remove_prefix(dot == std::string_view::npos ? rest->size() : dot + 1);
  return token;
}

}  // namespace

Status ValidateTopic(std::string_view topic) {
  if (IsPlainValidTopic(topic)) return Status::Ok();
  return ValidateName(NameKind::kTopic, topic);
}

// A plain topic is also a valid pattern.
Status ValidatePattern(std::string_view pattern) {
  if (IsPlainValidTopic(pattern)) return Status::Ok();
  return ValidateName(NameKind::kPattern, pattern);
}

// Walks both names token by token. Wildcards match any token, including a
// '$' first token: whether someone may see the mesh's own topics is for the
// mesh to decide, not for the matcher.
bool PatternMatches(std::string_view pattern, std::string_view topic) {
  std::string_view p = pattern;
  std::string_view t = topic;
  while (!p.empty()) {
    std::string_view want = NextToken(&p);
    if (want == ">") return !t.empty();
    if (t.empty()) return false;
    std::string_view have = NextToken(&t);
    if (want != "*" && want != have) return false;
  }
  return t.empty();
}

}  // namespace eventmesh
