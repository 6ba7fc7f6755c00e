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
#include <vector>

#include "eventmesh/event.h"
#include "eventmesh/mesh.h"
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

// Records the deliveries of a subscription (durable ones are acked when
// the handler returns unless the subscription asks for manual acks).
struct Recorder {
  std::mutex mu;
  std::vector<Delivery> deliveries;
  Handler handler() {
    return [this](const Delivery& d) {
      std::lock_guard<std::mutex> lock(mu);
      deliveries.push_back(d);
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return deliveries.size();
  }
  std::vector<std::string> data() {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::string> out;
    for (const Delivery& d : deliveries) out.push_back(d.event().data);
    return out;
  }
};

// Options for a durable subscription named `name`.
inline SubscribeOptions Durable(std::string name, bool manual_ack = false) {
  SubscribeOptions o;
  o.durable = std::move(name);
  o.manual_ack = manual_ack;
  return o;
}

}  // namespace eventmesh::testing

#endif  // EVENTMESH_TESTS_UNIT_TEST_UTIL_H_
