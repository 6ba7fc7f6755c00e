#include "net/event_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace eventmesh::net {
namespace {

TEST(EventLoop, RunsPostedTasksInOrderOnTheLoopThread) {
  EventLoop loop;
  ASSERT_TRUE(loop.Start("test-loop").ok());
  std::vector<int> seen;
  std::atomic<bool> all_on_loop{true};
  for (int i = 0; i < 1000; ++i) {
    loop.Post([&, i] {
      if (!loop.InLoopThread()) all_on_loop = false;
      seen.push_back(i);
    });
  }
  ASSERT_TRUE(loop.RunSync([] {}));
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[i], i);
  EXPECT_TRUE(all_on_loop);
  EXPECT_FALSE(loop.InLoopThread());
}

TEST(EventLoop, TakesPostsFromManyThreads) {
  EventLoop loop;
  ASSERT_TRUE(loop.Start("test-loop").ok());
  std::atomic<int> count{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) loop.Post([&] { ++count; });
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(loop.RunSync([] {}));
  EXPECT_EQ(count.load(), 40000);
}

TEST(EventLoop, StopRunsWhatWasPostedAndClosesHandles) {
  EventLoop loop;
  ASSERT_TRUE(loop.Start("test-loop").ok());
  auto* timer = new uv_timer_t;
  loop.RunSync([&] {
    uv_timer_init(loop.loop(), timer);
    uv_timer_start(
        timer, [](uv_timer_t*) {}, 100000, 0);
  });
  int ran = 0;
  loop.Post([&] { ++ran; });
  loop.Stop();
  EXPECT_EQ(ran, 1);
  EXPECT_FALSE(loop.running());
  EXPECT_FALSE(loop.RunSync([] {}));
  delete timer;
}

TEST(EventLoop, DestroysCleanlyWithoutStarting) { EventLoop loop; }

TEST(ParseHostPort, AcceptsIpv4AndIpv6AndRefusesNames) {
  sockaddr_storage addr;
  ASSERT_TRUE(ParseHostPort("127.0.0.1:10000", &addr).ok());
  EXPECT_EQ(FormatAddress(reinterpret_cast<sockaddr*>(&addr)),
            "127.0.0.1:10000");
  ASSERT_TRUE(ParseHostPort("[::1]:80", &addr).ok());
  EXPECT_EQ(FormatAddress(reinterpret_cast<sockaddr*>(&addr)), "[::1]:80");
  EXPECT_FALSE(ParseHostPort("127.0.0.1", &addr).ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:99999", &addr).ok());
  EXPECT_FALSE(ParseHostPort("example.com:80", &addr).ok());
}

}  // namespace
}  // namespace eventmesh::net
