#include "net/http/http_client.h"

#include <gtest/gtest.h>

namespace eventmesh::http {
namespace {

sockaddr_storage Addr(const char* ip) {
  sockaddr_storage s{};
  if (uv_ip4_addr(ip, 80, reinterpret_cast<sockaddr_in*>(&s)) != 0) {
    EXPECT_EQ(uv_ip6_addr(ip, 80, reinterpret_cast<sockaddr_in6*>(&s)), 0);
  }
  return s;
}

bool In(const char* cidr, const char* ip) {
  auto net = Network::Parse(cidr);
  EXPECT_TRUE(net.ok()) << net.status().ToString();
  sockaddr_storage a = Addr(ip);
  return net->Contains(reinterpret_cast<sockaddr*>(&a));
}

TEST(HttpClient, NetworksMatchByPrefix) {
  EXPECT_TRUE(In("127.0.0.0/8", "127.1.2.3"));
  EXPECT_FALSE(In("127.0.0.0/8", "128.0.0.1"));
  EXPECT_TRUE(In("10.1.0.0/17", "10.1.127.255"));
  EXPECT_FALSE(In("10.1.0.0/17", "10.1.128.0"));
  EXPECT_TRUE(In("::1/128", "::1"));
  EXPECT_FALSE(In("::1/128", "127.0.0.1"));
  EXPECT_TRUE(In("0.0.0.0/0", "8.8.8.8"));
  EXPECT_TRUE(In("192.168.1.5", "192.168.1.5"));
  EXPECT_FALSE(In("192.168.1.5", "192.168.1.6"));
  EXPECT_FALSE(Network::Parse("127.0.0.0/33").ok());
  EXPECT_FALSE(Network::Parse("localhost").ok());
}

TEST(HttpClient, ParsesHttpUrls) {
  auto u = Url::Parse("http://127.0.0.1:8080/hook?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path_and_query, "/hook?x=1");
  auto plain = Url::Parse("http://localhost");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->path_and_query, "/");
  auto v6 = Url::Parse("http://[::1]:9/a");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9);
  EXPECT_FALSE(Url::Parse("https://example.com/").ok());
  EXPECT_FALSE(Url::Parse("http://:80/").ok());
  EXPECT_FALSE(Url::Parse("http://h:99999/").ok());
  EXPECT_FALSE(Url::Parse("http://user:pw@h/").ok());
  EXPECT_FALSE(Url::Parse("http://h/a b").ok());
}

}  // namespace
}  // namespace eventmesh::http
