// Helpers shared by the unit tests.

#ifndef EVENTMESH_TESTS_UNIT_TEST_UTIL_H_
#define EVENTMESH_TESTS_UNIT_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "eventmesh/event.h"
#include "eventmesh/status.h"

#define ASSERT_OK(expr)                          \
  do {                                           \
    const ::eventmesh::Status em_s_ = (expr);    \
    ASSERT_TRUE(em_s_.ok()) << em_s_.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                          \
  do {                                           \
    const ::eventmesh::Status em_s_ = (expr);    \
    EXPECT_TRUE(em_s_.ok()) << em_s_.ToString(); \
  } while (0)

namespace eventmesh::testing {

// A fresh directory under the system temp dir, removed when destroyed.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "eventmesh-test-XXXXXX")
            .string();
    char* made = mkdtemp(tmpl.data());
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Waits up to `timeout` for `done()` to hold, polling.
inline bool WaitFor(
    const std::function<bool()>& done,
    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// An event with the required attributes set.
inline Event MakeEvent(std::string data, std::string type = "test.event") {
  Event e;
  e.source = "/tests";
  e.type = std::move(type);
  e.data = std::move(data);
  return e;
}

}  // namespace eventmesh::testing

#endif  // EVENTMESH_TESTS_UNIT_TEST_UTIL_H_
