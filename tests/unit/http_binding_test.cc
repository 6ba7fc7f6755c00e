#include <gtest/gtest.h>

#include <string>

#include "net/http/cloudevents_binding.h"

namespace eventmesh::http {
namespace {

Request WithHeaders(std::vector<Header> headers, std::string body = "") {
  Request r;
  r.method = "POST";
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

TEST(HttpBinding, BinaryModeMapsHeadersToAttributes) {
  Request r = WithHeaders({{"ce-specversion", "1.0"},
                           {"ce-id", "A%20234"},
                           {"ce-source", "/orders"},
                           {"ce-type", "order.created"},
                           {"ce-subject", "Euro%20%E2%82%AC"},
                           {"ce-traceparent", "00-abc"},
                           {"content-type", "application/json"}},
                          R"({"n":1})");
  auto events = DecodeEvents(r);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 1u);
  const Event& e = (*events)[0];
  EXPECT_EQ(e.id, "A 234");
  EXPECT_EQ(e.source, "/orders");
  EXPECT_EQ(e.type, "order.created");
  EXPECT_EQ(e.subject, "Euro \xE2\x82\xAC");
  EXPECT_EQ(e.datacontenttype, "application/json");
  EXPECT_EQ(e.data, R"({"n":1})");
  ASSERT_NE(e.Extension("traceparent"), nullptr);
  EXPECT_EQ(*e.Extension("traceparent"), "00-abc");
}

TEST(HttpBinding, BinaryModeRefusesBadHeaders) {
  auto no_version = DecodeBinaryMode({{"ce-id", "1"}}, "");
  EXPECT_FALSE(no_version.ok());
  auto bad_escape =
      DecodeBinaryMode({{"ce-specversion", "1.0"}, {"ce-id", "%zz"}}, "");
  ASSERT_FALSE(bad_escape.ok());
  EXPECT_NE(bad_escape.status().message().find("ce-id"), std::string::npos);
  auto bad_name =
      DecodeBinaryMode({{"ce-specversion", "1.0"}, {"ce-bad_name", "x"}}, "");
  EXPECT_FALSE(bad_name.ok());
  auto twice = DecodeBinaryMode(
      {{"ce-specversion", "1.0"}, {"ce-x", "1"}, {"ce-x", "2"}}, "");
  EXPECT_FALSE(twice.ok());
}

TEST(HttpBinding, DetectsModesFromContentType) {
  EXPECT_EQ(*DetectMode(WithHeaders({{"content-type",
                                      "application/cloudevents+json; "
                                      "charset=UTF-8"}})),
            BindingMode::kStructured);
  EXPECT_EQ(*DetectMode(WithHeaders(
                {{"content-type", "Application/CloudEvents-Batch+JSON"}})),
            BindingMode::kBatch);
  EXPECT_EQ(*DetectMode(WithHeaders(
                {{"ce-specversion", "1.0"}, {"content-type", "text/plain"}})),
            BindingMode::kBinary);
  EXPECT_FALSE(DetectMode(WithHeaders({{"content-type", "text/plain"}})).ok());
  EXPECT_FALSE(DetectMode(WithHeaders({{"content-type",
                                        "application/cloudevents+avro"}}))
                   .ok());
}

TEST(HttpBinding, StructuredAndBatchModesDecodeJson) {
  Request one =
      WithHeaders({{"content-type", "application/cloudevents+json"}},
                  R"({"specversion":"1.0","id":"1","source":"/s","type":"t",)"
                  R"("datacontenttype":"text/plain","data":"hi"})");
  auto events = DecodeEvents(one);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  EXPECT_EQ((*events)[0].data, "hi");

  Request batch = WithHeaders(
      {{"content-type", "application/cloudevents-batch+json"}},
      R"([{"specversion":"1.0","id":"1","source":"/s","type":"t"},)"
      R"({"specversion":"1.0","id":"2","source":"/s","type":"t"}])");
  auto many = DecodeEvents(batch);
  ASSERT_TRUE(many.ok()) << many.status().ToString();
  ASSERT_EQ(many->size(), 2u);
  EXPECT_EQ((*many)[1].id, "2");

  Request broken = WithHeaders(
      {{"content-type", "application/cloudevents+json"}}, "{not json");
  EXPECT_FALSE(DecodeEvents(broken).ok());
}

TEST(HttpBinding, BinaryModeRoundTrips) {
  Event e;
  e.id = "id 1";
  e.source = "/src";
  e.type = "t";
  e.subject = "line\r\nbreak";
  e.datacontenttype = "text/plain";
  e.data = "payload";
  e.SetExtension("trace", "\"quoted\" %");
  e.topic = "a.b";
  e.sequence = 7;
  e.stored_at_nanos = 1'000'000'000;
  std::vector<Header> headers;
  std::string body = EncodeBinaryMode(e, true, &headers);
  for (const Header& h : headers) {
    for (char c : h.value) {
      EXPECT_GT(static_cast<unsigned char>(c), 0x20) << h.name;
    }
  }
  std::vector<Header> lower;
  for (const Header& h : headers) {
    std::string name = h.name;
    for (char& c : name) c = static_cast<char>(std::tolower(c));
    lower.push_back({name, h.value});
  }
  auto back = DecodeBinaryMode(lower, body);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->id, e.id);
  EXPECT_EQ(back->subject, e.subject);
  EXPECT_EQ(back->data, "payload");
  EXPECT_EQ(*back->Extension("trace"), "\"quoted\" %");
  // The mesh's fields go out as headers but are not read back as
  // extensions: the mesh sets them anew.
  EXPECT_EQ(back->Extension("sequence"), nullptr);
  bool has_sequence = false;
  for (const Header& h : headers) {
    has_sequence |= h.name == "ce-sequence" && h.value == "7";
  }
  EXPECT_TRUE(has_sequence);
}

TEST(HttpBinding, MediaTypeDropsParameters) {
  EXPECT_EQ(MediaType("Application/JSON ; charset=utf-8"), "application/json");
  EXPECT_EQ(MediaType(""), "");
}

}  // namespace
}  // namespace eventmesh::http
