// Users, credentials and permissions of the native TCP server.
//
// With no users configured every client is admitted and may do anything
// (a first-time user's set-up). Otherwise a client names a token, or a
// user and password; each user may publish to topics matching its
// `publish` patterns and subscribe to patterns covered by its `subscribe`
// patterns. Every user may publish to and subscribe under "$INBOX." so
// request/reply works. Admin calls (topics, groups, stats, dead letters,
// deleting topics, moving groups) need `admin`.
//
// Thread-safe after construction (read-only).

#ifndef EVENTMESH_SRC_NET_AUTH_H_
#define EVENTMESH_SRC_NET_AUTH_H_

#include <string>
#include <string_view>
#include <vector>

#include "eventmesh/status.h"

namespace eventmesh::net {

struct UserConfig {
  std::string name;
  // Either may be empty; a client matching either is this user.
  std::string token;
  std::string password;
  std::vector<std::string> publish;    // topic patterns
  std::vector<std::string> subscribe;  // topic patterns
  bool admin = false;
};

// True when every topic `requested` (a valid pattern) matches is also
// matched by `allowed` (a valid pattern).
bool PatternCovers(std::string_view allowed, std::string_view requested);

class Authenticator {
 public:
  explicit Authenticator(std::vector<UserConfig> users);

  // OK when the user list is consistent: names unique and non-empty, each
  // user with a token or a password, tokens unique, patterns valid.
  Status Validate() const;

  bool open() const { return users_.empty(); }

  // The user the credentials name: nullptr (anonymous) when no users are
  // configured; kUnauthenticated naming the reason otherwise.
  Result<const UserConfig*> Authenticate(std::string_view token,
                                         std::string_view user,
                                         std::string_view password) const;

  // Permission checks; `user` is nullptr for anonymous (allowed all). A
  // refusal is kPermissionDenied naming the user and the topic.
  Status MayPublish(const UserConfig* user, std::string_view topic) const;
  Status MaySubscribe(const UserConfig* user, std::string_view pattern) const;
  Status MayAdmin(const UserConfig* user, std::string_view what) const;

 private:
  std::vector<UserConfig> users_;
};

}  // namespace eventmesh::net

#endif  // EVENTMESH_SRC_NET_AUTH_H_
