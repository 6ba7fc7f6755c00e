#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/http/request_parser.h"

namespace eventmesh::http {
namespace {

std::vector<Request> ParseAll(const std::string& bytes, ParseLimits limits = {},
                              ParseError* error = nullptr) {
  RequestParser parser(limits);
  std::vector<Request> out;
  bool ok = parser.Feed(bytes, &out);
  if (error != nullptr) *error = parser.error();
  if (error == nullptr) {
    EXPECT_TRUE(ok) << parser.error().message;
  }
  return out;
}

TEST(HttpRequestParser, ParsesARequestWithHeadersAndBody) {
  auto requests = ParseAll(
      "POST /topics/orders.created/events?durability=none HTTP/1.1\r\n"
      "Host: localhost\r\n"
      "CE-ID: 42  \r\n"
      "Content-Length: 5\r\n\r\nhello");
  ASSERT_EQ(requests.size(), 1u);
  const Request& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/topics/orders.created/events");
  EXPECT_EQ(r.query, "durability=none");
  EXPECT_EQ(*r.QueryParam("durability"), "none");
  ASSERT_NE(r.FindHeader("ce-id"), nullptr);
  EXPECT_EQ(*r.FindHeader("ce-id"), "42");  // names lower-cased, value trimmed
  EXPECT_EQ(r.body, "hello");
  EXPECT_TRUE(r.keep_alive);
}

TEST(HttpRequestParser, SplitsPipelinedRequestsInOrder) {
  std::string one = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
  std::string two =
      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi";
  std::string three = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
  auto requests = ParseAll(one + two + three);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].path, "/healthz");
  EXPECT_EQ(requests[1].body, "hi");
  EXPECT_EQ(requests[2].path, "/metrics");
}

TEST(HttpRequestParser, AcceptsBytesOneAtATime) {
  std::string text =
      "POST /a%20b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  RequestParser parser({});
  std::vector<Request> out;
  for (char c : text) {
    ASSERT_TRUE(parser.Feed(std::string_view(&c, 1), &out));
    if (out.empty()) {
      EXPECT_TRUE(parser.in_request());
    }
  }
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].path, "/a b");
  EXPECT_EQ(out[0].body, "abcde");
  EXPECT_FALSE(parser.in_request());
}

TEST(HttpRequestParser, Http10ClosesUnlessKeepAliveIsAsked) {
  auto closing = ParseAll("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(closing.size(), 1u);
  EXPECT_FALSE(closing[0].keep_alive);
  auto kept = ParseAll("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_TRUE(kept[0].keep_alive);
  auto close11 = ParseAll("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_FALSE(close11[0].keep_alive);
}

TEST(HttpRequestParser, RefusesAnOversizedBodyFromItsLength) {
  ParseLimits limits;
  limits.max_body_bytes = 10;
  ParseError error;
  auto out =
      ParseAll("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits, &error);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(error.status, 413);
  EXPECT_NE(error.message.find("11 bytes"), std::string::npos);
}

TEST(HttpRequestParser, RefusesAnOversizedChunkedBody) {
  ParseLimits limits;
  limits.max_body_bytes = 4;
  ParseError error;
  ParseAll(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
      limits, &error);
  EXPECT_EQ(error.status, 413);
}

TEST(HttpRequestParser, RefusesHeadersOverTheLimit) {
  ParseLimits limits;
  limits.max_header_bytes = 64;
  ParseError error;
  ParseAll("GET / HTTP/1.1\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n",
           limits, &error);
  EXPECT_EQ(error.status, 431);
  limits.max_header_bytes = 16 << 10;
  limits.max_headers = 3;
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 5; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  ParseAll(many + "\r\n", limits, &error);
  EXPECT_EQ(error.status, 431);
}

TEST(HttpRequestParser, MalformedInputGets400AndStaysFailed) {
  RequestParser parser({});
  std::vector<Request> out;
  EXPECT_FALSE(parser.Feed("GARBAGE\r\n\r\n", &out));
  EXPECT_EQ(parser.error().status, 400);
  EXPECT_FALSE(parser.error().message.empty());
  EXPECT_FALSE(parser.Feed("GET / HTTP/1.1\r\n\r\n", &out));
  EXPECT_TRUE(out.empty());
}

TEST(HttpRequestParser, KeepsRequestsBeforeAnError) {
  RequestParser parser({});
  std::vector<Request> out;
  EXPECT_FALSE(parser.Feed("GET /ok HTTP/1.1\r\n\r\nBAD STUFF\r\n\r\n", &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].path, "/ok");
}

TEST(HttpRequestParser, RefusesBadTargetsAndVersions) {
  ParseError error;
  ParseAll("GET http://example.com/ HTTP/1.1\r\n\r\n", {}, &error);
  EXPECT_EQ(error.status, 400);
  ParseAll("GET /a%zz HTTP/1.1\r\n\r\n", {}, &error);
  EXPECT_EQ(error.status, 400);
  ParseAll("CONNECT example.com:443 HTTP/1.1\r\n\r\n", {}, &error);
  EXPECT_NE(error.status, 0);
  ParseAll(
      "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked"
      "\r\n\r\n",
      {}, &error);
  EXPECT_EQ(error.status, 400);
}

TEST(HttpRequestParser, IgnoresUpgradeAndParsesTheNextRequest) {
  auto out = ParseAll(
      "GET /a HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
      "GET /b HTTP/1.1\r\n\r\n");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].path, "/b");
}

}  // namespace
}  // namespace eventmesh::http
