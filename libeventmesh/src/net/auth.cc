#include "net/auth.h"

#include <set>

#include "eventmesh/topic.h"

namespace eventmesh::net {
namespace {

constexpr std::string_view kInboxPrefix = "$INBOX.";

std::vector<std::string_view> Tokens(std::string_view text) {
  std::vector<std::string_view> tokens;
  size_t start = 0;
  for (;;) {
    size_t dot = text.find('.', start);
    if (dot == std::string_view::npos) {
      tokens.push_back(text.substr(start));
      return tokens;
    }
    tokens.push_back(text.substr(start, dot - start));
    start = dot + 1;
  }
}

// Compares in time independent of where the strings differ.
bool SecretEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

bool IsInbox(std::string_view name) {
  return name.substr(0, kInboxPrefix.size()) == kInboxPrefix;
}

}  // namespace

bool PatternCovers(std::string_view allowed, std::string_view requested) {
  std::vector<std::string_view> a = Tokens(allowed);
  std::vector<std::string_view> r = Tokens(requested);
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == ">") return i < r.size();  // one or more tokens remain
    if (i >= r.size()) return false;
    if (a[i] == "*") {
      if (r[i] == ">") return false;  // '>' spans more than one token
      continue;
    }
    if (a[i] != r[i]) return false;  // literal: requested must equal it
  }
  return a.size() == r.size();
}

Authenticator::Authenticator(std::vector<UserConfig> users)
    : users_(std::move(users)) {}

Status Authenticator::Validate() const {
  std::set<std::string> names, tokens;
  for (const UserConfig& u : users_) {
    if (u.name.empty()) return InvalidArgument("a user has no name");
    if (!names.insert(u.name).second) {
      return InvalidArgument("user '" + u.name + "' is listed twice");
    }
    if (u.token.empty() && u.password.empty()) {
      return InvalidArgument("user '" + u.name +
                             "' has neither a token nor a password");
    }
    if (!u.token.empty() && !tokens.insert(u.token).second) {
      return InvalidArgument("user '" + u.name +
                             "' has a token another user has");
    }
    for (const auto* list : {&u.publish, &u.subscribe}) {
      for (const std::string& p : *list) {
        Status s = ValidatePattern(p);
        if (!s.ok()) return s.WithContext("user '" + u.name + "'");
      }
    }
  }
  return Status::Ok();
}

Result<const UserConfig*> Authenticator::Authenticate(
    std::string_view token, std::string_view user,
    std::string_view password) const {
  if (users_.empty()) return static_cast<const UserConfig*>(nullptr);
  if (!token.empty()) {
    for (const UserConfig& u : users_) {
      if (!u.token.empty() && SecretEquals(u.token, token)) return &u;
    }
    return Unauthenticated("unknown token");
  }
  if (user.empty()) {
    return Unauthenticated(
        "credentials required: send a token or a user and password");
  }
  for (const UserConfig& u : users_) {
    if (u.name != user) continue;
    if (!u.password.empty() && SecretEquals(u.password, password)) return &u;
    return Unauthenticated("wrong password for user '" + u.name + "'");
  }
  return Unauthenticated("unknown user '" + std::string(user) + "'");
}

Status Authenticator::MayPublish(const UserConfig* user,
                                 std::string_view topic) const {
  if (user == nullptr || IsInbox(topic)) return Status::Ok();
  for (const std::string& p : user->publish) {
    if (PatternMatches(p, topic)) return Status::Ok();
  }
  return PermissionDenied("user '" + user->name + "' may not publish to '" +
                          std::string(topic) + "'");
}

Status Authenticator::MaySubscribe(const UserConfig* user,
                                   std::string_view pattern) const {
  if (user == nullptr) return Status::Ok();
  if (IsInbox(pattern) && PatternCovers("$INBOX.>", pattern)) {
    return Status::Ok();
  }
  for (const std::string& p : user->subscribe) {
    if (PatternCovers(p, pattern)) return Status::Ok();
  }
  return PermissionDenied("user '" + user->name + "' may not subscribe to '" +
                          std::string(pattern) + "'");
}

Status Authenticator::MayAdmin(const UserConfig* user,
                               std::string_view what) const {
  if (user == nullptr || user->admin) return Status::Ok();
  return PermissionDenied("user '" + user->name + "' may not call " +
                          std::string(what) + " (needs admin)");
}

}  // namespace eventmesh::net
