// What the store crash test and its writer process share.

#ifndef EVENTMESH_TESTS_INTEGRATION_HELPERS_STORE_CRASH_COMMON_H_
#define EVENTMESH_TESTS_INTEGRATION_HELPERS_STORE_CRASH_COMMON_H_

#include <cstdint>
#include <string_view>

namespace eventmesh::crash_test {

// FNV-1a over the event's binary encoding: a content fingerprint both
// processes compute the same way.
inline uint64_t ContentHash(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

inline constexpr int kTopics = 8;
inline constexpr const char* kStateKey = "crash/state";

}  // namespace eventmesh::crash_test

#endif  // EVENTMESH_TESTS_INTEGRATION_HELPERS_STORE_CRASH_COMMON_H_
