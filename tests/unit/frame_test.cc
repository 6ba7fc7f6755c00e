#include "net/frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace eventmesh::net {
namespace {

std::string Frames(int count) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    AppendFrame(FrameType::kPublish, 1000 + i, std::string(i, 'x'), &out);
  }
  return out;
}

TEST(FrameDecoder, ReturnsFramesFedOneByteAtATime) {
  std::string stream = Frames(5);
  FrameDecoder decoder;
  std::vector<std::string> bodies;
  std::vector<uint64_t> ids;
  for (char c : stream) {
    decoder.Append(std::string_view(&c, 1));
    Frame frame;
    for (;;) {
      auto next = decoder.Next(&frame);
      ASSERT_TRUE(next.ok()) << next.status().ToString();
      if (!*next) break;
      EXPECT_EQ(frame.type, FrameType::kPublish);
      bodies.emplace_back(frame.body);
      ids.push_back(frame.request_id);
    }
  }
  ASSERT_EQ(bodies.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(bodies[i], std::string(i, 'x'));
    EXPECT_EQ(ids[i], 1000u + i);
  }
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameDecoder, ReturnsEveryFrameOfOneLargeRead) {
  FrameDecoder decoder;
  decoder.Append(Frames(100));
  Frame frame;
  int count = 0;
  while (*decoder.Next(&frame)) ++count;
  EXPECT_EQ(count, 100);
}

TEST(FrameDecoder, RefusesAFrameOverTheLimit) {
  FrameDecoder decoder(64);
  std::string out;
  AppendFrame(FrameType::kPublish, 1, std::string(65, 'x'), &out);
  decoder.Append(std::string_view(out).substr(0, kFrameHeaderSize));
  Frame frame;
  auto next = decoder.Next(&frame);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(next.status().message().find("65 bytes"), std::string::npos);
  // It stays failed.
  EXPECT_FALSE(decoder.Next(&frame).ok());
}

TEST(FrameDecoder, RefusesUnknownTypesReservedBytesAndFlags) {
  for (int byte : {4, 5, 6, 7}) {
    std::string out;
    AppendFrame(FrameType::kPing, 0, "", &out);
    out[byte] = static_cast<char>(byte == 4 ? 99 : 1);
    FrameDecoder decoder;
    decoder.Append(out);
    Frame frame;
    auto next = decoder.Next(&frame);
    ASSERT_FALSE(next.ok()) << "header byte " << byte;
    EXPECT_EQ(next.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(FrameDecoder, WritesInPlaceThroughPrepareAndCommit) {
  std::string stream = Frames(3);
  FrameDecoder decoder;
  char* dst = decoder.PrepareWrite(stream.size());
  std::copy(stream.begin(), stream.end(), dst);
  decoder.Commit(stream.size());
  Frame frame;
  int count = 0;
  while (*decoder.Next(&frame)) ++count;
  EXPECT_EQ(count, 3);
}

TEST(FrameBuilder, BeginAndFinishWriteTheBodyLength) {
  std::string out;
  size_t start = BeginFrame(FrameType::kAck, 7, &out);
  BodyWriter(&out).Bytes("hello");
  FinishFrame(start, &out);
  FrameDecoder decoder;
  decoder.Append(out);
  Frame frame;
  ASSERT_TRUE(*decoder.Next(&frame));
  EXPECT_EQ(frame.type, FrameType::kAck);
  EXPECT_EQ(frame.request_id, 7u);
  BodyReader reader(frame.body, "ack");
  std::string text;
  ASSERT_TRUE(reader.Bytes(&text));
  EXPECT_EQ(text, "hello");
  EXPECT_TRUE(reader.Finish().ok());
}

TEST(Body, VarintsRoundTripAtTheirEdges) {
  std::vector<uint64_t> values = {0,     1,     127,        128,
                                  16383, 16384, UINT32_MAX, UINT64_MAX};
  std::vector<int64_t> signed_values = {0, -1, 1, INT64_MIN, INT64_MAX};
  std::string body;
  BodyWriter writer(&body);
  for (uint64_t v : values) writer.Varint(v);
  for (int64_t v : signed_values) writer.Svarint(v);
  BodyReader reader(body, "test");
  for (uint64_t v : values) {
    uint64_t got = 0;
    ASSERT_TRUE(reader.Varint(&got));
    EXPECT_EQ(got, v);
  }
  for (int64_t v : signed_values) {
    int64_t got = 0;
    ASSERT_TRUE(reader.Svarint(&got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(reader.Finish().ok());
}

TEST(Body, RefusesOverlongVarintsAndShortStrings) {
  std::string ones(11, '\xff');
  BodyReader overlong(ones, "test");
  uint64_t value = 0;
  EXPECT_FALSE(overlong.Varint(&value));
  EXPECT_EQ(overlong.Finish().code(), StatusCode::kInvalidArgument);

  std::string body;
  BodyWriter(&body).Varint(10);
  body += "abc";
  BodyReader short_string(body, "test");
  std::string_view bytes;
  EXPECT_FALSE(short_string.Bytes(&bytes));
  Status status = short_string.Finish();
  EXPECT_NE(status.message().find("malformed test frame"), std::string::npos);
}

TEST(Body, FinishNamesTrailingBytes) {
  BodyReader reader("xy", "credit");
  uint8_t byte = 0;
  ASSERT_TRUE(reader.U8(&byte));
  Status status = reader.Finish();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("trailing bytes"), std::string::npos);
}

}  // namespace
}  // namespace eventmesh::net
