// The HTTP server over a real loop thread, real sockets on 127.0.0.1 and a
// "mem:" mesh.

#include "net/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "eventmesh/mesh.h"

namespace eventmesh::http {
namespace {

// A blocking client socket with a receive timeout.
class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }

  void Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = write(fd_, bytes.data() + off, bytes.size() - off);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  // Reads until `count` complete responses arrived (Content-Length framed)
  // or the connection closes; returns everything read.
  std::string ReadResponses(int count) {
    std::string data;
    for (;;) {
      if (CountComplete(data) >= count) return data;
      char buf[8192];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return data;
      data.append(buf, static_cast<size_t>(n));
    }
  }

  // Reads until `needle` shows up (for streams).
  std::string ReadUntil(const std::string& needle) {
    for (;;) {
      if (stream_.find(needle) != std::string::npos) return stream_;
      char buf[8192];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return stream_;
      stream_.append(buf, static_cast<size_t>(n));
    }
  }

  // True when the server closed the connection (read returns 0).
  bool ClosedByServer() {
    char buf[256];
    for (;;) {
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n == 0) return true;
      if (n < 0) return false;
    }
  }

 private:
  static int CountComplete(const std::string& data) {
    int count = 0;
    size_t at = 0;
    for (;;) {
      size_t end = data.find("\r\n\r\n", at);
      if (end == std::string::npos) return count;
      size_t cl = data.find("Content-Length: ", at);
      size_t length = 0;
      if (cl != std::string::npos && cl < end) {
        length = std::stoul(data.substr(cl + 16));
      }
      if (data.size() < end + 4 + length) return count;
      ++count;
      at = end + 4 + length;
    }
  }

  int fd_;
  bool connected_ = false;
  std::string stream_;
};

int StatusOf(const std::string& response) {
  if (response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpOptions options = {}) {
    auto mesh = Mesh::Open("mem:");
    ASSERT_TRUE(mesh.ok()) << mesh.status().ToString();
    mesh_ = std::move(mesh).value();
    options.port = 0;
    uv_loop_init(&loop_);
    server_ = std::make_unique<HttpServer>(&loop_, mesh_.get(), options);
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    stop_.data = this;
    uv_async_init(&loop_, &stop_, [](uv_async_t* a) {
      auto* self = static_cast<HttpServerTest*>(a->data);
      self->server_->Stop([self] {
        uv_close(reinterpret_cast<uv_handle_t*>(&self->stop_), nullptr);
      });
    });
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  }

  void TearDown() override {
    if (!server_) return;
    uv_async_send(&stop_);
    thread_.join();
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    server_.reset();
    mesh_->Close().IgnoreError();
  }

  int port() const { return server_->port(); }

  std::string Request(const std::string& bytes) {
    Client c(port());
    c.Send(bytes);
    return c.ReadResponses(1);
  }

  static std::string BinaryPublish(const std::string& topic,
                                   const std::string& id,
                                   const std::string& data,
                                   const std::string& extra = "") {
    return "POST /topics/" + topic + "/events" + extra +
           " HTTP/1.1\r\nHost: x\r\nce-specversion: 1.0\r\nce-id: " + id +
           "\r\nce-source: /test\r\nce-type: t\r\nContent-Type: text/plain"
           "\r\nContent-Length: " +
           std::to_string(data.size()) + "\r\n\r\n" + data;
  }

  uv_loop_t loop_;
  uv_async_t stop_;
  std::thread thread_;
  std::unique_ptr<Mesh> mesh_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ATakenPortFailsToStartAndStillStopsCleanly) {
  StartServer();
  uv_loop_t loop;
  uv_loop_init(&loop);
  HttpOptions options;
  options.port = port();
  HttpServer second(&loop, mesh_.get(), options);
  Status started = second.Start();
  EXPECT_EQ(started.code(), StatusCode::kUnavailable) << started.ToString();
  bool stopped = false;
  second.Stop([&] { stopped = true; });
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_TRUE(stopped);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST_F(HttpServerTest, AnswersHealthAndReadiness) {
  StartServer();
  std::string r = Request("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 200) << r;
  r = Request("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 200) << r;
  EXPECT_NE(r.find("ready"), std::string::npos);
  r = Request("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 404);
}

TEST_F(HttpServerTest, PublishesInBinaryModeAndReturnsSequences) {
  StartServer();
  std::string r = Request(BinaryPublish("orders.created", "e1", "hello"));
  ASSERT_EQ(StatusOf(r), 200) << r;
  EXPECT_NE(r.find(R"("sequence":1)"), std::string::npos) << r;
  r = Request(
      BinaryPublish("orders.created", "e2", "again", "?durability=none"));
  EXPECT_NE(r.find(R"("sequence":2)"), std::string::npos) << r;
  auto stored = mesh_->Read("orders.created", 1, 10);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ((*stored)[0].data, "hello");
  EXPECT_EQ((*stored)[0].datacontenttype, "text/plain");
  r = Request(BinaryPublish("orders.created", "e3", "x", "?durability=fast"));
  EXPECT_EQ(StatusOf(r), 400) << r;
}

TEST_F(HttpServerTest, PipelinedResponsesComeInRequestOrder) {
  StartServer();
  Client c(port());
  std::string batch;
  for (int i = 1; i <= 20; ++i) {
    batch += BinaryPublish("pipe", "p" + std::to_string(i), "x");
    if (i % 5 == 0) batch += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  c.Send(batch);
  std::string all = c.ReadResponses(24);
  size_t at = 0;
  int sequence = 0, health = 0;
  for (int i = 0; i < 24; ++i) {
    size_t next = all.find("HTTP/1.1 ", at + 1);
    std::string one =
        all.substr(at, next == std::string::npos ? next : next - at);
    if (one.find("\"status\":\"ok\"") != std::string::npos) {
      ++health;
      EXPECT_EQ(sequence % 5, 0) << "health answered out of order";
    } else {
      ++sequence;
      EXPECT_NE(one.find("\"sequence\":" + std::to_string(sequence) + ","),
                std::string::npos)
          << one;
    }
    at = next;
  }
  EXPECT_EQ(sequence, 20);
  EXPECT_EQ(health, 4);
}

// Publish requests read together are published together, yet each gets
// its own answer in its own place: a bad one fails alone.
TEST_F(HttpServerTest, PipelinedPublishesAreAnsweredEachOnItsOwn) {
  StartServer();
  Client c(port());
  c.Send(BinaryPublish("each", "a", "0") + BinaryPublish("each..x", "b", "1") +
         BinaryPublish("each", "c", "2", "?durability=none") +
         BinaryPublish("each", "d", "3"));
  std::string all = c.ReadResponses(4);
  std::vector<std::string> answers;
  for (size_t at = all.find("HTTP/1.1 "); at != std::string::npos;) {
    size_t next = all.find("HTTP/1.1 ", at + 1);
    answers.push_back(
        all.substr(at, next == std::string::npos ? next : next - at));
    at = next;
  }
  ASSERT_EQ(answers.size(), 4u) << all;
  EXPECT_EQ(StatusOf(answers[0]), 200) << answers[0];
  EXPECT_NE(answers[0].find(R"("sequence":1)"), std::string::npos);
  EXPECT_EQ(StatusOf(answers[1]), 400) << answers[1];
  EXPECT_NE(answers[1].find("each..x"), std::string::npos) << answers[1];
  EXPECT_NE(answers[2].find(R"("sequence":2)"), std::string::npos)
      << answers[2];
  EXPECT_NE(answers[3].find(R"("sequence":3)"), std::string::npos)
      << answers[3];
  auto stored = mesh_->Read("each", 1, 10);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 3u);
  EXPECT_EQ((*stored)[2].data, "3");
}

TEST_F(HttpServerTest, OversizedBodyGets413AndOtherConnectionsGoOn) {
  HttpOptions options;
  options.limits.max_body_bytes = 100;
  StartServer(options);
  Client good(port());
  Client bad(port());
  bad.Send(BinaryPublish("t", "big", std::string(1000, 'x')));
  std::string r = bad.ReadResponses(1);
  EXPECT_EQ(StatusOf(r), 413) << r;
  EXPECT_NE(r.find("exceeds the limit of 100 bytes"), std::string::npos);
  EXPECT_NE(r.find("Connection: close"), std::string::npos);
  good.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(good.ReadResponses(1)), 200);
}

TEST_F(HttpServerTest, MalformedRequestGets400WithTheReason) {
  StartServer();
  Client c(port());
  c.Send("GET /healthz HTTP/1.1\r\n\r\nNOT HTTP AT ALL\r\n\r\n");
  std::string r = c.ReadResponses(2);
  EXPECT_EQ(StatusOf(r), 200);
  size_t second = r.find("HTTP/1.1 400");
  ASSERT_NE(second, std::string::npos) << r;
  EXPECT_NE(r.find("malformed HTTP request"), std::string::npos);
  EXPECT_TRUE(c.ClosedByServer());
}

TEST_F(HttpServerTest, AnswersExpectContinueBeforeTheBody) {
  StartServer();
  Client c(port());
  c.Send(
      "POST /topics/cont/events HTTP/1.1\r\nHost: x\r\nce-specversion: 1.0\r\n"
      "ce-id: c1\r\nce-source: /s\r\nce-type: t\r\nContent-Length: 3\r\n"
      "Expect: 100-continue\r\n\r\n");
  std::string interim = c.ReadUntil("\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  c.Send("abc");
  std::string r = c.ReadResponses(1);
  EXPECT_EQ(StatusOf(r), 200) << r;
}

TEST_F(HttpServerTest, SlowHeadersTimeOutWith408) {
  HttpOptions options;
  options.header_timeout = std::chrono::milliseconds(200);
  StartServer(options);
  Client c(port());
  c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  std::string r = c.ReadResponses(1);
  EXPECT_EQ(StatusOf(r), 408) << r;
  EXPECT_TRUE(c.ClosedByServer());
}

TEST_F(HttpServerTest, IdleConnectionsClose) {
  HttpOptions options;
  options.idle_timeout = std::chrono::milliseconds(200);
  StartServer(options);
  Client c(port());
  c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(c.ReadResponses(1)), 200);
  EXPECT_TRUE(c.ClosedByServer());
}

TEST_F(HttpServerTest, StreamsEventsAndResumesAfterLastEventId) {
  StartServer();
  for (int i = 1; i <= 3; ++i) {
    Request(BinaryPublish("feed", "f" + std::to_string(i), "d"));
  }
  {
    Client s(port());
    s.Send(
        "GET /topics/feed/events?from=earliest HTTP/1.1\r\nHost: x\r\n"
        "Accept: text/event-stream\r\n\r\n");
    std::string got = s.ReadUntil("id: 3\n");
    EXPECT_NE(got.find("Content-Type: text/event-stream"), std::string::npos);
    EXPECT_NE(got.find("id: 1\ndata: {"), std::string::npos) << got;
    Request(BinaryPublish("feed", "f4", "live"));
    got = s.ReadUntil("id: 4\n");
    EXPECT_NE(got.find("\"id\":\"f4\""), std::string::npos) << got;
  }
  Client again(port());
  again.Send(
      "GET /topics/feed/events HTTP/1.1\r\nHost: x\r\n"
      "Accept: text/event-stream\r\nLast-Event-ID: 2\r\n\r\n");
  std::string got = again.ReadUntil("id: 4\n");
  EXPECT_EQ(got.find("id: 2\n"), std::string::npos) << got;
  EXPECT_NE(got.find("id: 3\n"), std::string::npos) << got;
}

TEST_F(HttpServerTest, AdminFailsClosedWithoutAToken) {
  StartServer();
  std::string r = Request("GET /admin/topics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 403) << r;
}

TEST_F(HttpServerTest, AdminNeedsTheBearerToken) {
  HttpOptions options;
  options.admin_token = "s3cret";
  StartServer(options);
  Request(BinaryPublish("a.b", "x1", "hello"));
  std::string r = Request("GET /admin/topics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 401) << r;
  r = Request(
      "GET /admin/topics HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer wrong\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 401) << r;
  r = Request(
      "GET /admin/topics HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer s3cret\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 200) << r;
  EXPECT_NE(r.find(R"("topic":"a.b")"), std::string::npos) << r;
}

TEST_F(HttpServerTest, MetricsMoveWhenEventsFlow) {
  StartServer();
  Request(BinaryPublish("m", "m1", "12345"));
  std::string r = Request("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_NE(r.find("eventmesh_http_published_events_total 1\n"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("eventmesh_http_published_bytes_total 5\n"),
            std::string::npos);
  EXPECT_NE(r.find("eventmesh_http_publish_latency_seconds_count 1\n"),
            std::string::npos);
  EXPECT_NE(r.find("eventmesh_topic_events{topic=\"m\"} 1\n"),
            std::string::npos);
  EXPECT_NE(r.find("eventmesh_connections{protocol=\"http\"}"),
            std::string::npos);
}

TEST_F(HttpServerTest, RequestReplyReturnsTheReplyInBinaryMode) {
  StartServer();
  auto responder = mesh_->Subscribe("svc.echo", [this](const Delivery& d) {
    Event reply;
    reply.source = "/echo";
    reply.type = "echo.reply";
    reply.datacontenttype = "text/plain";
    reply.data = "echo:" + d.event().data;
    mesh_->Reply(d.event(), std::move(reply)).IgnoreError();
  });
  ASSERT_TRUE(responder.ok());
  std::string r = Request(
      "POST /topics/svc.echo/requests?timeout=2s HTTP/1.1\r\nHost: x\r\n"
      "ce-specversion: 1.0\r\nce-id: q1\r\nce-source: /c\r\nce-type: ask\r\n"
      "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_EQ(StatusOf(r), 200) << r;
  EXPECT_NE(r.find("ce-type: echo.reply"), std::string::npos) << r;
  EXPECT_NE(r.find("echo:hi"), std::string::npos) << r;
  r = Request(
      "POST /topics/svc.nobody/requests?timeout=100ms HTTP/1.1\r\nHost: x\r\n"
      "ce-specversion: 1.0\r\nce-id: q2\r\nce-source: /c\r\nce-type: ask\r\n"
      "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 504) << r;
}

}  // namespace
}  // namespace eventmesh::http
