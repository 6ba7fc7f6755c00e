// The binary and JSON event codecs, and the helpers they share.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "event/base64.h"
#include "event/binary_codec.h"
#include "event/json_text.h"
#include "event_samples.h"
#include "eventmesh/event.h"

namespace eventmesh {
namespace {

using testing::RandomEvent;
using testing::SampleEvent;

Event DecodeBinaryOrDie(std::string_view bytes) {
  Result<Event> r = DecodeBinary(bytes);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : Event();
}

Event DecodeJsonOrDie(std::string_view json) {
  Result<Event> r = DecodeJson(json);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << " in " << json;
  return r.ok() ? std::move(r).value() : Event();
}

// The message of a failed DecodeJson; fails the test when it succeeds.
std::string JsonError(std::string_view json) {
  Result<Event> r = DecodeJson(json);
  EXPECT_FALSE(r.ok()) << json;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

// The mesh fields are not part of the plain JSON format.
Event WithoutMeshFields(Event e) {
  e.topic.clear();
  e.sequence = 0;
  e.stored_at_nanos = 0;
  return e;
}

std::string Hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// --- Binary
// -------------------------------------------------------------------

TEST(EventCodec, BinaryRoundTripKeepsEveryField) {
  const Event e = SampleEvent();
  EXPECT_EQ(DecodeBinaryOrDie(EncodeBinary(e)), e);
}

TEST(EventCodec, BinaryRoundTripOfAnEmptyEvent) {
  Event e;
  e.specversion.clear();
  const std::string bytes = EncodeBinary(e);
  EXPECT_EQ(bytes.size(), 14u);  // version, 3 mesh fields, 8+1+1 lengths
  EXPECT_EQ(DecodeBinaryOrDie(bytes), e);
}

TEST(EventCodec, BinaryRoundTripOfRandomEvents) {
  std::mt19937_64 rng(20261203);
  for (int i = 0; i < 500; ++i) {
    const Event e = RandomEvent(rng);
    const std::string bytes = EncodeBinary(e);
    ASSERT_EQ(bytes.size(), e.ByteSize());
    ASSERT_EQ(DecodeBinaryOrDie(bytes), e) << "event " << i;
  }
}

TEST(EventCodec, BinaryFormatIsTheDocumentedLayout) {
  Event e;
  e.topic = "t";
  e.sequence = 300;
  e.stored_at_nanos = -2;
  e.id = "i";
  e.SetExtension("x", "y");
  e.data = "d";
  // version, topic, sequence 300, zigzag(-2)=3, id, source, type,
  // specversion "1.0", 4 empty attributes, 1 extension, data.
  EXPECT_EQ(Hex(EncodeBinary(e)),
            "01"
            "0174"
            "ac02"
            "03"
            "0169"
            "00"
            "00"
            "03312e30"
            "00000000"
            "01"
            "0178"
            "0179"
            "0164");
}

TEST(EventCodec, BinaryEncodingStartsWithTheFormatVersion) {
  EXPECT_EQ(static_cast<uint8_t>(EncodeBinary(SampleEvent())[0]),
            kBinaryFormatVersion);
}

TEST(EventCodec, AppendBinaryKeepsWhatIsAlreadyThere) {
  std::string out = "prefix";
  AppendBinary(SampleEvent(), &out);
  EXPECT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(out.substr(6), EncodeBinary(SampleEvent()));
}

TEST(EventCodec, EveryEventHasExactlyOneEncoding) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100; ++i) {
    const std::string bytes = EncodeBinary(RandomEvent(rng));
    EXPECT_EQ(EncodeBinary(DecodeBinaryOrDie(bytes)), bytes);
  }
}

TEST(EventCodec, TruncatedInputIsRefusedAtEveryLength) {
  const std::string bytes = EncodeBinary(SampleEvent());
  for (size_t n = 0; n < bytes.size(); ++n) {
    Result<Event> r = DecodeBinary(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << "length " << n;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(EventCodec, TruncationNamesTheFieldItCut) {
  const std::string bytes = EncodeBinary(SampleEvent());
  Result<Event> r = DecodeBinary(bytes.substr(0, bytes.size() - 1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'data'"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(DecodeBinary("").status().message(), "encoded event is empty");
}

TEST(EventCodec, TrailingBytesAreRefused) {
  std::string bytes = EncodeBinary(SampleEvent());
  bytes.push_back('\0');
  Result<Event> r = DecodeBinary(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("1 bytes after its end"),
            std::string::npos);
  // Two events back to back are not one event.
  EXPECT_FALSE(
      DecodeBinary(EncodeBinary(Event()) + EncodeBinary(Event())).ok());
}

TEST(EventCodec, BitFlipsAreRefusedOrDecodeToAnotherValidEncoding) {
  const std::string bytes = EncodeBinary(SampleEvent());
  int refused = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      Result<Event> r = DecodeBinary(flipped);
      if (r.ok()) {
        // A flip inside a string's bytes gives another event, which
        // encodes back to exactly the flipped bytes.
        EXPECT_EQ(EncodeBinary(*r), flipped);
      } else {
        ++refused;
        EXPECT_TRUE(r.status().code() == StatusCode::kInvalidArgument ||
                    (i == 0 && r.status().code() == StatusCode::kDataLoss));
      }
    }
  }
  EXPECT_GT(refused, 0);
}

TEST(EventCodec, OversizedInputIsRefusedBeforeDecoding) {
  std::string bytes(kMaxEncodedEventSize + 1, '\0');
  bytes[0] = static_cast<char>(kBinaryFormatVersion);
  Result<Event> r = DecodeBinary(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("more than the limit"),
            std::string::npos);
}

TEST(EventCodec, HugeLengthIsRefusedWithoutAllocatingIt) {
  // version, empty topic, sequence 0, time 0, then an id of 2^62 bytes.
  std::string bytes("\x01\x00\x00\x00", 4);
  bytes.append("\x80\x80\x80\x80\x80\x80\x80\x80\x40", 9);
  bytes.resize(bytes.size() + 1, 'x');
  Result<Event> r = DecodeBinary(std::string_view(bytes.data(), bytes.size()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'id' needs"), std::string::npos)
      << r.status().message();
}

TEST(EventCodec, HugeExtensionCountIsRefused) {
  Event e;
  std::string bytes = EncodeBinary(e);
  // The extension count is the second-last byte (before the data length).
  bytes[bytes.size() - 2] = '\x7f';
  Result<Event> r = DecodeBinary(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("extension count"), std::string::npos);
}

TEST(EventCodec, UnknownVersionIsDataLoss) {
  std::string bytes = EncodeBinary(SampleEvent());
  for (int version : {0, 2, 255}) {
    bytes[0] = static_cast<char>(version);
    Result<Event> r = DecodeBinary(bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(
        r.status().message().find("format version " + std::to_string(version)),
        std::string::npos);
  }
}

TEST(EventCodec, NonMinimalAndOverlongVarintsAreRefused) {
  // sequence 0 written as two bytes.
  std::string bytes("\x01\x00\x80\x00", 4);
  EXPECT_NE(DecodeBinary(bytes).status().message().find("non-minimal"),
            std::string::npos);
  // sequence with eleven bytes.
  bytes = std::string("\x01\x00", 2) + std::string(10, '\xff') + '\x01';
  EXPECT_NE(DecodeBinary(bytes).status().message().find("over-long"),
            std::string::npos);
}

TEST(EventCodec, ExtremeMeshNumbersRoundTrip) {
  Event e;
  for (uint64_t seq : {uint64_t{0}, uint64_t{1} << 63, UINT64_MAX}) {
    for (int64_t t : {INT64_MIN, int64_t{-1}, int64_t{0}, INT64_MAX}) {
      e.sequence = seq;
      e.stored_at_nanos = t;
      EXPECT_EQ(DecodeBinaryOrDie(EncodeBinary(e)), e);
    }
  }
}

TEST(EventCodec, PeekHeaderReadsOnlyTheMeshFields) {
  const Event e = SampleEvent();
  std::string bytes = EncodeBinary(e);
  Result<internal::BinaryEventHeader> h = internal::PeekBinaryHeader(bytes);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->topic, e.topic);
  EXPECT_EQ(h->sequence, e.sequence);
  EXPECT_EQ(h->stored_at_nanos, e.stored_at_nanos);
  // The header alone is enough.
  const size_t header_size = 1 + 1 + e.topic.size() + 1 + 9;
  EXPECT_TRUE(internal::PeekBinaryHeader(bytes.substr(0, header_size)).ok());
  EXPECT_FALSE(
      internal::PeekBinaryHeader(bytes.substr(0, header_size - 1)).ok());
  bytes[0] = 9;
  EXPECT_EQ(internal::PeekBinaryHeader(bytes).status().code(),
            StatusCode::kDataLoss);
}

// --- JSON
// ---------------------------------------------------------------------

TEST(EventCodec, JsonRoundTripKeepsAttributesExtensionsAndData) {
  const Event e = WithoutMeshFields(SampleEvent());
  EXPECT_EQ(DecodeJsonOrDie(EncodeJson(e)), e);
}

TEST(EventCodec, JsonWritesTheCloudEventsAttributeNames) {
  nlohmann::json j = nlohmann::json::parse(EncodeJson(SampleEvent()));
  EXPECT_EQ(j["specversion"], "1.0");
  EXPECT_EQ(j["id"], "order-1001");
  EXPECT_EQ(j["source"], "/shop/orders");
  EXPECT_EQ(j["type"], "order.created");
  EXPECT_EQ(j["subject"], "customer/42");
  EXPECT_EQ(j["time"], "2026-12-03T13:45:00.123456789Z");
  EXPECT_EQ(j["dataschema"], "https://schemas.example.com/order.json");
  EXPECT_EQ(j["traceparent"], "00-abc-def-01");
  EXPECT_EQ(j["region"], "eu1");
  EXPECT_EQ(j["data"]["items"][1], "pen");
  EXPECT_FALSE(j.contains("topic"));
  EXPECT_FALSE(j.contains("data_base64"));
}

TEST(EventCodec, JsonLeavesOutEmptyOptionalAttributes) {
  Event e;
  e.id = "1";
  e.source = "s";
  e.type = "t";
  EXPECT_EQ(EncodeJson(e),
            R"({"specversion":"1.0","id":"1","source":"s","type":"t"})");
}

TEST(EventCodec, JsonDataIsCopiedThroughByteForByte) {
  Event e = SampleEvent();
  e.data = "{ \"a\" : [1, 2.50, \"x\"] }";
  EXPECT_NE(EncodeJson(e).find("\"data\":{ \"a\" : [1, 2.50, \"x\"] }"),
            std::string::npos);
}

TEST(EventCodec, JsonSuffixAndTextJsonContentTypesCountAsJson) {
  Event e = SampleEvent();
  e.data = "[1]";
  for (const char* ct :
       {"application/json", "text/json", "application/cloudevents+json",
        "Application/JSON; charset=utf-8"}) {
    e.datacontenttype = ct;
    EXPECT_NE(EncodeJson(e).find("\"data\":[1]"), std::string::npos) << ct;
  }
}

TEST(EventCodec, InvalidJsonUnderAJsonContentTypeTravelsAsBase64) {
  Event e = SampleEvent();
  e.data = "{not json";
  const std::string json = EncodeJson(e);
  EXPECT_NE(json.find("\"data_base64\":\"e25vdCBqc29u\""), std::string::npos);
  EXPECT_EQ(DecodeJsonOrDie(json).data, e.data);
}

TEST(EventCodec, JsonNullDataTravelsAsBase64ToKeepIt) {
  Event e = SampleEvent();
  e.data = "null";
  EXPECT_NE(EncodeJson(e).find("data_base64"), std::string::npos);
  EXPECT_EQ(DecodeJsonOrDie(EncodeJson(e)).data, "null");
}

TEST(EventCodec, TextDataIsAJsonString) {
  Event e = SampleEvent();
  e.datacontenttype = "text/plain; charset=utf-8";
  e.data = "h\xc3\xa9llo \"world\"\n";
  const std::string json = EncodeJson(e);
  EXPECT_NE(json.find(R"("data":"h)"
                      "\xc3\xa9"
                      R"(llo \"world\"\n")"),
            std::string::npos)
      << json;
  EXPECT_EQ(DecodeJsonOrDie(json).data, e.data);
}

TEST(EventCodec, TextThatIsNotUtf8TravelsAsBase64) {
  Event e = SampleEvent();
  e.datacontenttype = "text/plain";
  e.data = "\xff\xfe";
  EXPECT_NE(EncodeJson(e).find("\"data_base64\":\"//4=\""), std::string::npos);
  EXPECT_EQ(DecodeJsonOrDie(EncodeJson(e)).data, e.data);
}

TEST(EventCodec, OtherDataIsBase64) {
  Event e = SampleEvent();
  e.datacontenttype = "application/octet-stream";
  e.data = std::string("\0\x01\x02 bytes", 9);
  const std::string json = EncodeJson(e);
  EXPECT_EQ(json.find("\"data\":"), std::string::npos);
  EXPECT_EQ(DecodeJsonOrDie(json), WithoutMeshFields(e));
}

TEST(EventCodec, JsonDataWithoutAContentTypeIsReadAsJson) {
  const Event e = DecodeJsonOrDie(
      R"({"specversion":"1.0","id":"1","source":"s","type":"t",)"
      R"("data":{"b": [true, null], "a": 1.50}})");
  EXPECT_EQ(e.datacontenttype, "");
  EXPECT_EQ(e.data, R"({"b":[true,null],"a":1.5})");
  // A JSON string is a JSON value too.
  EXPECT_EQ(DecodeJsonOrDie(R"({"specversion":"1.0","id":"1","source":"s",)"
                            R"("type":"t","data":"hi"})")
                .data,
            "\"hi\"");
}

TEST(EventCodec, JsonStringDataUnderANonJsonContentTypeIsTheText) {
  const Event e = DecodeJsonOrDie(
      R"({"specversion":"1.0","id":"1","source":"s","type":"t",)"
      R"("datacontenttype":"application/xml","data":"<a/>"})");
  EXPECT_EQ(e.data, "<a/>");
}

TEST(EventCodec, JsonMeshFieldsAreWrittenOnlyWhenAsked) {
  const Event e = SampleEvent();
  nlohmann::json j = nlohmann::json::parse(EncodeJson(e, true));
  EXPECT_EQ(j["topic"], "shop.orders.eu");
  EXPECT_EQ(j["sequence"], 77);
  EXPECT_EQ(j["storedat"], "2026-12-03T13:45:00.123456789Z");
  EXPECT_EQ(DecodeJsonOrDie(EncodeJson(e, true)), e);
}

TEST(EventCodec, JsonMeshTimesRoundTripAcrossTheWholeRange) {
  Event e = SampleEvent();
  for (int64_t t :
       {INT64_MIN, INT64_MIN + 1, int64_t{-1}, int64_t{0}, INT64_MAX}) {
    e.stored_at_nanos = t;
    EXPECT_EQ(DecodeJsonOrDie(EncodeJson(e, true)).stored_at_nanos, t);
  }
}

TEST(EventCodec, JsonSequenceMayBeANumberOrADecimalString) {
  const std::string head =
      R"({"specversion":"1.0","id":"1","source":"s","type":"t","sequence":)";
  EXPECT_EQ(DecodeJsonOrDie(head + "18446744073709551615}").sequence,
            UINT64_MAX);
  EXPECT_EQ(DecodeJsonOrDie(head + "\"42\"}").sequence, 42u);
  for (const char* bad :
       {"-1", "1.5", "\"18446744073709551616\"", "\"\"", "\"4a\"", "true"}) {
    EXPECT_EQ(JsonError(head + bad + "}"),
              "event attribute 'sequence' must be an unsigned 64-bit integer")
        << bad;
  }
}

TEST(EventCodec, JsonExtensionScalarsAreKeptAsTheirCanonicalText) {
  const Event e = DecodeJsonOrDie(
      R"({"specversion":"1.0","id":"1","source":"s","type":"t",)"
      R"("count":42,"ratio":1.50,"flag":true,"neg":-7,"name":"x","gone":null})");
  EXPECT_EQ(*e.Extension("count"), "42");
  EXPECT_EQ(*e.Extension("ratio"), "1.5");
  EXPECT_EQ(*e.Extension("flag"), "true");
  EXPECT_EQ(*e.Extension("neg"), "-7");
  EXPECT_EQ(*e.Extension("name"), "x");
  EXPECT_EQ(e.Extension("gone"), nullptr);
  // Document order is kept.
  ASSERT_EQ(e.extensions.size(), 5u);
  EXPECT_EQ(e.extensions[0].first, "count");
  EXPECT_EQ(e.extensions[4].first, "name");
}

TEST(EventCodec, JsonErrorsNameTheAttributeAndTheProblem) {
  const std::string head = R"({"specversion":"1.0","source":"s","type":"t",)";
  EXPECT_EQ(JsonError(head + R"("id":7})"),
            "event attribute 'id' must be a string, not number");
  EXPECT_EQ(JsonError(R"({"specversion":"1.0","source":"s","type":"t"})"),
            "event attribute 'id' is required and empty");
  EXPECT_EQ(JsonError(head + R"("id":"1","ext":{"a":1}})"),
            "event attribute 'ext' must be a string, number or boolean, not "
            "object");
  EXPECT_EQ(JsonError(head + R"("id":"1","data":1,"data_base64":"AA=="})"),
            "event has both 'data' and 'data_base64'; send only one");
  EXPECT_NE(JsonError(head + R"("id":"1","data_base64":"A?=="})")
                .find("'data_base64' is not a base64 string"),
            std::string::npos);
  EXPECT_NE(JsonError(head + R"("id":"1","datacontenttype":"text/plain",)"
                             R"("data":{"a":1}})")
                .find("is a JSON object but datacontenttype 'text/plain' is "
                      "not JSON"),
            std::string::npos);
  EXPECT_NE(JsonError(head + R"("id":"1","Bad":"x"})")
                .find("extension name 'Bad' is not allowed"),
            std::string::npos);
  EXPECT_EQ(JsonError(head + R"("id":"1","storedat":"soon"})"),
            "event attribute 'storedat' must be an RFC 3339 timestamp");
  EXPECT_EQ(JsonError("[]"), "a CloudEvent in JSON is an object, not array");
}

TEST(EventCodec, JsonSyntaxErrorsSayWhere) {
  const std::string error = JsonError(R"({"id": tru})");
  EXPECT_NE(error.find("event is not valid JSON: "), std::string::npos);
  EXPECT_NE(error.find("line 1, column"), std::string::npos) << error;
  EXPECT_NE(JsonError("").find("not valid JSON"), std::string::npos);
  EXPECT_NE(JsonError("{} {}").find("not valid JSON"), std::string::npos);
}

TEST(EventCodec, JsonWithANulByteIsRefused) {
  const std::string json =
      R"({"specversion":"1.0","id":"1","source":"s","type":"t"})";
  EXPECT_NE(JsonError(json + std::string("\0garbage", 8))
                .find("a NUL byte at offset"),
            std::string::npos);
  // Data that is JSON only up to a NUL is not JSON: it goes as base64.
  Event e = SampleEvent();
  e.data = std::string("1.0\0{", 5);
  EXPECT_NE(EncodeJson(e).find("data_base64"), std::string::npos);
  EXPECT_EQ(DecodeJsonOrDie(EncodeJson(e)).data, e.data);
}

TEST(EventCodec, DeeplyNestedJsonIsRefused) {
  const std::string deep =
      R"({"specversion":"1.0","id":"1","source":"s","type":"t","data":)" +
      std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_NE(JsonError(deep).find("nesting deeper than"), std::string::npos);
  // An event whose data is nested too deeply is written as base64.
  Event e = SampleEvent();
  e.data = std::string(1000, '[') + std::string(1000, ']');
  EXPECT_EQ(DecodeJsonOrDie(EncodeJson(e)).data, e.data);
}

TEST(EventCodec, JsonDataAtTheDepthLimitStillReadsBack) {
  for (int depth = 120; depth <= 130; ++depth) {
    Event e = WithoutMeshFields(SampleEvent());
    e.data = std::string(depth, '[') + std::string(depth, ']');
    EXPECT_EQ(DecodeJsonOrDie(EncodeJson(e)), e) << depth;
    Result<std::vector<Event>> batch = DecodeJsonBatch(EncodeJsonBatch({e}));
    ASSERT_TRUE(batch.ok()) << depth << ": " << batch.status().ToString();
    EXPECT_EQ(batch->front(), e);
  }
}

TEST(EventCodec, JsonOfAttributesThatAreNotUtf8IsStillValidJson) {
  Event e = SampleEvent();
  e.subject = "a\xff\xc3(b\x01";
  const std::string json = EncodeJson(e);
  EXPECT_TRUE(internal::IsJsonText(json));
  EXPECT_EQ(DecodeJsonOrDie(json).subject, "a\xef\xbf\xbd\xef\xbf\xbd(b\x01");
}

TEST(EventCodec, JsonRoundTripOfRandomValidEvents) {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 300; ++i) {
    Event e = RandomEvent(rng);
    // Make it valid: attribute values become printable text.
    for (std::string* f : {&e.id, &e.source, &e.type, &e.subject, &e.topic}) {
      for (char& c : *f) c = static_cast<char>(' ' + (c & 0x3f));
    }
    e.id += "i";
    e.source += "s";
    e.type += "t";
    e.specversion = "1.0";
    e.time = rng() % 2 ? "2026-12-03T13:45:00Z" : "";
    e.datacontenttype = rng() % 2 ? "application/octet-stream" : "";
    e.dataschema = rng() % 2 ? "urn:x" : "";
    e.extensions.clear();
    e.SetExtension("x" + std::to_string(i), e.subject);
    e.stored_at_nanos = static_cast<int64_t>(rng() >> 2);
    ASSERT_TRUE(e.Validate().ok()) << e.Validate().ToString();
    ASSERT_EQ(DecodeJsonOrDie(EncodeJson(e, true)), e) << "event " << i;
  }
}

TEST(EventCodec, JsonBatchIsAnArrayOfEvents) {
  std::vector<Event> events(3, WithoutMeshFields(SampleEvent()));
  events[1].id = "second";
  events[2].data.clear();
  const std::string json = EncodeJsonBatch(events);
  EXPECT_EQ(json.front(), '[');
  Result<std::vector<Event>> decoded = DecodeJsonBatch(json);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, events);
  EXPECT_EQ(EncodeJsonBatch({}), "[]");
  ASSERT_TRUE(DecodeJsonBatch("[]").ok());
  EXPECT_TRUE(DecodeJsonBatch(" [ ] ")->empty());
}

TEST(EventCodec, JsonBatchErrorsSayWhichEvent) {
  Result<std::vector<Event>> r = DecodeJsonBatch(
      R"([{"specversion":"1.0","id":"1","source":"s","type":"t"},)"
      R"({"specversion":"1.0","id":"","source":"s","type":"t"}])");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "event 1 of the batch: event attribute 'id' is required and "
            "empty");
  EXPECT_EQ(DecodeJsonBatch("{}").status().message(),
            "a batch of CloudEvents in JSON is an array, not object");
}

// --- Helpers
// ------------------------------------------------------------------

TEST(Base64, EncodesTheRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(internal::EncodeBase64(plain), encoded);
    std::string decoded;
    EXPECT_TRUE(internal::DecodeBase64(encoded, &decoded)) << encoded;
    EXPECT_EQ(decoded, plain);
  }
}

TEST(Base64, AcceptsMissingPaddingAndEveryByte) {
  std::string decoded;
  EXPECT_TRUE(internal::DecodeBase64("Zm8", &decoded));
  EXPECT_EQ(decoded, "fo");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  decoded.clear();
  EXPECT_TRUE(internal::DecodeBase64(internal::EncodeBase64(all), &decoded));
  EXPECT_EQ(decoded, all);
}

TEST(Base64, RefusesMalformedText) {
  for (const char* bad : {"Z", "Zm9v!", "Zm 9v", "Zg=", "Zg===", "=Zg=",
                          "Zm9vYg==Zg==", "Zh==", "Zm9=", "Zm-_"}) {
    std::string out;
    EXPECT_FALSE(internal::DecodeBase64(bad, &out)) << bad;
  }
}

TEST(JsonText, ValidUtf8IsRecognised) {
  EXPECT_TRUE(internal::IsValidUtf8(""));
  EXPECT_TRUE(internal::IsValidUtf8("plain"));
  EXPECT_TRUE(internal::IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(internal::IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(internal::IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(internal::IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(internal::IsValidUtf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(internal::IsValidUtf8("\x80"));
}

TEST(JsonText, StringsAreEscaped) {
  std::string out;
  internal::AppendJsonString(std::string("q\"b\\c\x01\x1f\t\0", 9), &out);
  EXPECT_EQ(out, R"("q\"b\\c\u0001\u001f\t\u0000")");
}

}  // namespace
}  // namespace eventmesh
