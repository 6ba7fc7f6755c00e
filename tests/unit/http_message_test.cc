#include "net/http/http_message.h"

#include <gtest/gtest.h>

#include <string>

namespace eventmesh::http {
namespace {

TEST(HttpMessage, PercentDecodesAndRefusesBadEscapes) {
  std::string out;
  EXPECT_TRUE(PercentDecode("a%20b%E2%82%AC", false, &out));
  EXPECT_EQ(out, "a b\xE2\x82\xAC");
  EXPECT_TRUE(PercentDecode("a+b", true, &out));
  EXPECT_EQ(out, "a b");
  EXPECT_TRUE(PercentDecode("a+b", false, &out));
  EXPECT_EQ(out, "a+b");
  EXPECT_FALSE(PercentDecode("%4", false, &out));
  EXPECT_FALSE(PercentDecode("%", false, &out));
  EXPECT_FALSE(PercentDecode("%g1", false, &out));
}

TEST(HttpMessage, PercentEncodesWhatTheBindingRequires) {
  EXPECT_EQ(PercentEncodeHeaderValue("Euro \xE2\x82\xAC \"%"),
            "Euro%20%E2%82%AC%20%22%25");
  EXPECT_EQ(PercentEncodeHeaderValue("a:b/c?d"), "a:b/c?d");
  std::string back;
  ASSERT_TRUE(PercentDecode(PercentEncodeHeaderValue("x\r\ny"), false, &back));
  EXPECT_EQ(back, "x\r\ny");
}

TEST(HttpMessage, ParsesQueries) {
  std::vector<std::pair<std::string, std::string>> q;
  ASSERT_TRUE(ParseQuery("a=1&b=x%20y&&c&d=e+f", &q));
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[1].second, "x y");
  EXPECT_EQ(q[2].first, "c");
  EXPECT_EQ(q[2].second, "");
  EXPECT_EQ(q[3].second, "e f");
  EXPECT_FALSE(ParseQuery("a=%zz", &q));
}

TEST(HttpMessage, SplitsPaths) {
  auto s = SplitPath("/topics//a.b/events/");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], "topics");
  EXPECT_EQ(s[1], "a.b");
  EXPECT_EQ(s[2], "events");
  EXPECT_TRUE(SplitPath("/").empty());
}

TEST(HttpMessage, ParsesDurations) {
  int64_t ms = 0;
  EXPECT_TRUE(ParseDurationMillis("250", &ms));
  EXPECT_EQ(ms, 250);
  EXPECT_TRUE(ParseDurationMillis("5s", &ms));
  EXPECT_EQ(ms, 5000);
  EXPECT_TRUE(ParseDurationMillis("2m", &ms));
  EXPECT_EQ(ms, 120000);
  EXPECT_TRUE(ParseDurationMillis("40ms", &ms));
  EXPECT_EQ(ms, 40);
  EXPECT_FALSE(ParseDurationMillis("", &ms));
  EXPECT_FALSE(ParseDurationMillis("5h", &ms));
  EXPECT_FALSE(ParseDurationMillis("-1", &ms));
  EXPECT_FALSE(ParseDurationMillis("99999999999999999999s", &ms));
}

TEST(HttpMessage, SerializesResponses) {
  Response r = Response::Error(404, "no such \"thing\"");
  std::string out;
  SerializeResponse(r, true, false, &out);
  EXPECT_EQ(out.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  EXPECT_NE(out.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(out.find("Content-Length: " + std::to_string(r.body.size())),
            std::string::npos);
  EXPECT_EQ(out.find("Connection: close"), std::string::npos);
  EXPECT_NE(out.find(R"("message":"no such \"thing\"")"), std::string::npos);

  std::string head;
  SerializeResponse(r, false, true, &head);
  EXPECT_NE(head.find("Connection: close\r\n\r\n"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");  // no body for HEAD
}

TEST(HttpMessage, SetHeaderReplacesIgnoringCase) {
  Response r;
  r.SetHeader("Content-Type", "a");
  r.SetHeader("content-type", "b");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].value, "b");
}

}  // namespace
}  // namespace eventmesh::http
