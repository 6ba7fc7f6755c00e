// Helpers for store tests: temporary directories, events, and blocking
// wrappers around the asynchronous Append and PutState.

#ifndef EVENTMESH_TESTS_UNIT_STORE_TEST_UTIL_H_
#define EVENTMESH_TESTS_UNIT_STORE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "eventmesh/store.h"

namespace eventmesh::testing {

#define EM_ASSERT_OK(expr)                                        \
  do {                                                            \
    ::eventmesh::Status em_s_ = (expr);                           \
    ASSERT_TRUE(em_s_.ok()) << #expr << ": " << em_s_.ToString(); \
  } while (0)
#define EM_EXPECT_OK(expr)                                        \
  do {                                                            \
    ::eventmesh::Status em_s_ = (expr);                           \
    EXPECT_TRUE(em_s_.ok()) << #expr << ": " << em_s_.ToString(); \
  } while (0)

// A directory under $TMPDIR removed (with its contents) on destruction.
class TempDir {
 public:
  TempDir() {
    std::string base = std::filesystem::temp_directory_path().string();
    std::string templ = base + "/eventmesh-store-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A valid event for `topic` with a distinct id and `data`.
inline std::shared_ptr<Event> MakeEvent(const std::string& topic,
                                        const std::string& id,
                                        const std::string& data = "payload",
                                        const std::string& source = "/test") {
  auto event = std::make_shared<Event>();
  event->id = id;
  event->source = source;
  event->type = "test.event";
  event->datacontenttype = "text/plain";
  event->data = data;
  event->topic = topic;
  return event;
}

// Appends and waits for the outcomes (at most 30 s).
inline std::vector<AppendOutcome> AppendAndWait(
    Store& store, std::vector<std::shared_ptr<Event>> events,
    Durability durability = Durability::kSync) {
  auto promise = std::make_shared<std::promise<std::vector<AppendOutcome>>>();
  auto future = promise->get_future();
  store.Append(std::move(events), durability,
               [promise](std::vector<AppendOutcome>& outcomes) {
                 promise->set_value(outcomes);
               });
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << "Append did not complete within 30 s";
    return {};
  }
  return future.get();
}

// Appends one event and returns its outcome.
inline AppendOutcome AppendOne(Store& store, std::shared_ptr<Event> event,
                               Durability durability = Durability::kSync) {
  std::vector<std::shared_ptr<Event>> events{std::move(event)};
  auto outcomes = AppendAndWait(store, std::move(events), durability);
  if (outcomes.size() != 1) return AppendOutcome{Internal("no outcome")};
  return outcomes[0];
}

inline Status PutStateAndWait(Store& store, std::string key, std::string value,
                              Durability durability = Durability::kSync) {
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  store.PutState(std::move(key), std::move(value), durability,
                 [promise](Status s) { promise->set_value(std::move(s)); });
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    return Timeout("PutState did not complete within 30 s");
  }
  return future.get();
}

}  // namespace eventmesh::testing

#endif  // EVENTMESH_TESTS_UNIT_STORE_TEST_UTIL_H_
