#include <gtest/gtest.h>

#include "net/http/webhooks.h"

namespace eventmesh::http {
namespace {

TEST(Webhooks, RetryDelayDoublesAndHonoursRetryAfter) {
  using std::chrono::milliseconds;
  milliseconds initial(100), max(1000);
  EXPECT_EQ(RetryDelay(1, nullptr, initial, max), milliseconds(100));
  EXPECT_EQ(RetryDelay(2, nullptr, initial, max), milliseconds(200));
  EXPECT_EQ(RetryDelay(4, nullptr, initial, max), milliseconds(800));
  EXPECT_EQ(RetryDelay(9, nullptr, initial, max), milliseconds(1000));
  std::string after = "3";
  EXPECT_EQ(RetryDelay(1, &after, initial, max), milliseconds(3000));
  std::string date = "Wed, 21 Oct 2015 07:28:00 GMT";
  EXPECT_EQ(RetryDelay(1, &date, initial, max), milliseconds(100));
}

TEST(Webhooks, SpecsParseWithDefaultsAndRefuseBadFields) {
  auto spec = WebhookSpec::FromJson(
      R"({"name":"h1","pattern":"orders.>","url":"http://127.0.0.1:9/x"})");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->group, "h1");
  EXPECT_EQ(spec->start, "latest");
  auto back = WebhookSpec::FromJson(spec->ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->url, spec->url);
  EXPECT_FALSE(WebhookSpec::FromJson("[]").ok());
  EXPECT_FALSE(WebhookSpec::FromJson(R"({"url":"http://a/"})").ok());
  EXPECT_FALSE(WebhookSpec::FromJson(
                   R"({"pattern":"a","url":"http://a/","max_in_flight":0})")
                   .ok());
  auto unnamed = WebhookSpec::FromJson(R"({"pattern":"a","url":"http://a/"})");
  ASSERT_TRUE(unnamed.ok());
  EXPECT_EQ(unnamed->name.rfind("wh-", 0), 0u);
}

}  // namespace
}  // namespace eventmesh::http
