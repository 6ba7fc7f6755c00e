#include "eventmesh/event.h"

#include <gtest/gtest.h>

#include <string>

#include "event_samples.h"

namespace eventmesh {
namespace {

using testing::SampleEvent;

// The message of a failed Validate(), or "ok".
std::string ValidationError(const Event& e) {
  Status s = e.Validate();
  if (s.ok()) return "ok";
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  return s.message();
}

Event MinimalEvent() {
  Event e;
  e.id = "1";
  e.source = "/s";
  e.type = "t";
  return e;
}

TEST(Event, DefaultsToSpecVersion10WithNothingElseSet) {
  Event e;
  EXPECT_EQ(e.specversion, "1.0");
  EXPECT_TRUE(e.id.empty());
  EXPECT_TRUE(e.extensions.empty());
  EXPECT_EQ(e.sequence, 0u);
  EXPECT_EQ(e.stored_at_nanos, 0);
}

TEST(Event, SetExtensionAddsInOrderAndReplacesInPlace) {
  Event e;
  e.SetExtension("b", "1");
  e.SetExtension("a", "2");
  e.SetExtension("b", "3");
  ASSERT_EQ(e.extensions.size(), 2u);
  EXPECT_EQ(e.extensions[0],
            std::make_pair(std::string("b"), std::string("3")));
  EXPECT_EQ(e.extensions[1],
            std::make_pair(std::string("a"), std::string("2")));
  ASSERT_NE(e.Extension("a"), nullptr);
  EXPECT_EQ(*e.Extension("a"), "2");
  EXPECT_EQ(e.Extension("c"), nullptr);
}

TEST(Event, RemoveExtensionRemovesOnlyThatName) {
  Event e;
  e.SetExtension("a", "1");
  e.SetExtension("b", "2");
  e.RemoveExtension("a");
  e.RemoveExtension("missing");
  ASSERT_EQ(e.extensions.size(), 1u);
  EXPECT_EQ(e.extensions[0].first, "b");
}

TEST(Event, AttributeFindsCoreAttributesThenExtensions) {
  Event e = SampleEvent();
  EXPECT_EQ(*e.Attribute("id"), "order-1001");
  EXPECT_EQ(*e.Attribute("source"), "/shop/orders");
  EXPECT_EQ(*e.Attribute("type"), "order.created");
  EXPECT_EQ(*e.Attribute("specversion"), "1.0");
  EXPECT_EQ(*e.Attribute("subject"), "customer/42");
  EXPECT_EQ(*e.Attribute("time"), e.time);
  EXPECT_EQ(*e.Attribute("datacontenttype"), "application/json");
  EXPECT_EQ(*e.Attribute("dataschema"), e.dataschema);
  EXPECT_EQ(*e.Attribute("region"), "eu1");
  EXPECT_EQ(e.Attribute("nosuch"), nullptr);
  // The payload and the mesh fields are not attributes.
  EXPECT_EQ(e.Attribute("data"), nullptr);
  EXPECT_EQ(e.Attribute("topic"), nullptr);
}

TEST(Event, EmptyCoreAttributeIsAbsentButEmptyExtensionIsPresent) {
  Event e = MinimalEvent();
  e.SetExtension("flag", "");
  EXPECT_EQ(e.Attribute("subject"), nullptr);
  ASSERT_NE(e.Attribute("flag"), nullptr);
  EXPECT_EQ(*e.Attribute("flag"), "");
}

TEST(Event, ValidEventsPassValidation) {
  EXPECT_EQ(ValidationError(MinimalEvent()), "ok");
  EXPECT_EQ(ValidationError(SampleEvent()), "ok");
}

TEST(Event, ValidationRequiresIdSourceAndType) {
  Event e = MinimalEvent();
  e.id.clear();
  EXPECT_EQ(ValidationError(e), "event attribute 'id' is required and empty");
  e = MinimalEvent();
  e.source.clear();
  EXPECT_EQ(ValidationError(e),
            "event attribute 'source' is required and empty");
  e = MinimalEvent();
  e.type.clear();
  EXPECT_EQ(ValidationError(e), "event attribute 'type' is required and empty");
}

TEST(Event, ValidationRequiresSpecVersionExactly10) {
  Event e = MinimalEvent();
  e.specversion = "0.3";
  EXPECT_EQ(ValidationError(e),
            "event attribute 'specversion' must be '1.0', not '0.3'");
  e.specversion = "1.0 ";
  EXPECT_NE(ValidationError(e), "ok");
  e.specversion.clear();
  EXPECT_EQ(ValidationError(e),
            "event attribute 'specversion' is required and empty");
}

TEST(Event, ValidationAcceptsRfc3339TimesOnly) {
  Event e = MinimalEvent();
  for (const char* good :
       {"2026-12-03T13:45:00Z", "2026-12-03T13:45:00.5+01:00",
        "2024-02-29t23:59:59.123456789-08:30", "2026-12-03 13:45:00z"}) {
    e.time = good;
    EXPECT_EQ(ValidationError(e), "ok") << good;
  }
  for (const char* bad :
       {"2026-12-03", "2026-12-03T13:45:00", "2026-13-03T13:45:00Z",
        "2025-02-29T00:00:00Z", "2026-12-03T24:00:00Z", "yesterday",
        "2026-12-03T13:45:00.Z", "2026-12-03T13:45:00Z "}) {
    e.time = bad;
    std::string error = ValidationError(e);
    EXPECT_NE(error.find("event attribute 'time' must be an RFC 3339"),
              std::string::npos)
        << bad << ": " << error;
  }
}

TEST(Event, ValidationRefusesTimesOutsideTheNanosecondRange) {
  // int64 Unix nanoseconds span the years 1678 to 2261.
  Event e = MinimalEvent();
  e.time = "0001-01-01T00:00:00Z";
  EXPECT_NE(ValidationError(e), "ok");
  e.time = "9999-12-31T23:59:59Z";
  EXPECT_NE(ValidationError(e), "ok");
}

TEST(Event, ValidationWantsDataContentTypeToBeAMediaType) {
  Event e = MinimalEvent();
  for (const char* good :
       {"application/json", "text/plain; charset=utf-8",
        "application/cloudevents+json", "text/plain;charset=\"utf-8\"",
        "multipart/form-data; boundary=\"a b\"; x=y",
        "application/vnd.example.v1+json"}) {
    e.datacontenttype = good;
    EXPECT_EQ(ValidationError(e), "ok") << good;
  }
  for (const char* bad :
       {"json", "application/", "/json", "text/plain;", "text/plain; charset",
        "text/plain; charset=", "a b/c", "text/plain; charset=\"utf-8",
        "text/plain, text/html"}) {
    e.datacontenttype = bad;
    std::string error = ValidationError(e);
    EXPECT_NE(error.find("event attribute 'datacontenttype' must be a media "
                         "type"),
              std::string::npos)
        << bad << ": " << error;
  }
}

TEST(Event, ExtensionNamesAreShortLowerCaseAlphanumerics) {
  EXPECT_TRUE(IsValidExtensionName("a"));
  EXPECT_TRUE(IsValidExtensionName("traceparent"));
  EXPECT_TRUE(IsValidExtensionName("x1"));
  EXPECT_TRUE(IsValidExtensionName(std::string(20, 'z')));
  EXPECT_FALSE(IsValidExtensionName(std::string(21, 'z')));
  EXPECT_FALSE(IsValidExtensionName(""));
  EXPECT_FALSE(IsValidExtensionName("Trace"));
  EXPECT_FALSE(IsValidExtensionName("trace_parent"));
  EXPECT_FALSE(IsValidExtensionName("trace-parent"));
  EXPECT_FALSE(IsValidExtensionName("caf\xc3\xa9"));
}

TEST(Event, ExtensionNamesMayNotShadowAttributesOrReservedNames) {
  for (const char* name : {"id", "source", "type", "specversion", "subject",
                           "time", "datacontenttype", "dataschema", "data",
                           "topic", "sequence", "storedat"}) {
    EXPECT_FALSE(IsValidExtensionName(name)) << name;
  }
  EXPECT_FALSE(IsValidExtensionName("data_base64"));
}

TEST(Event, ValidationNamesABadExtension) {
  Event e = MinimalEvent();
  e.SetExtension("Region", "eu");
  EXPECT_NE(ValidationError(e).find("event extension name 'Region' is not "
                                    "allowed"),
            std::string::npos);
  e = MinimalEvent();
  e.SetExtension("subject", "x");
  EXPECT_NE(ValidationError(e).find("'subject'"), std::string::npos);
}

TEST(Event, ValidationRefusesDuplicateExtensions) {
  Event e = MinimalEvent();
  e.extensions = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
  EXPECT_EQ(ValidationError(e), "event extension 'a' appears more than once");
}

TEST(Event, LongValuesAreCutShortInMessages) {
  Event e = MinimalEvent();
  e.time = std::string(10000, 'x');
  EXPECT_LT(ValidationError(e).size(), 300u);
}

TEST(Event, EqualityComparesEveryField) {
  const Event a = SampleEvent();
  EXPECT_EQ(a, SampleEvent());
  // Changing any one field makes the events differ.
  std::vector<void (*)(Event*)> changes = {
      [](Event* e) { e->id += "x"; },
      [](Event* e) { e->source += "x"; },
      [](Event* e) { e->type += "x"; },
      [](Event* e) { e->specversion += "x"; },
      [](Event* e) { e->subject += "x"; },
      [](Event* e) { e->time += "x"; },
      [](Event* e) { e->datacontenttype += "x"; },
      [](Event* e) { e->dataschema += "x"; },
      [](Event* e) { e->SetExtension("region", "us1"); },
      [](Event* e) { e->SetExtension("more", "x"); },
      [](Event* e) { std::swap(e->extensions[0], e->extensions[1]); },
      [](Event* e) { e->data += "x"; },
      [](Event* e) { e->topic += "x"; },
      [](Event* e) { e->sequence += 1; },
      [](Event* e) { e->stored_at_nanos += 1; },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    Event b = SampleEvent();
    changes[i](&b);
    EXPECT_FALSE(a == b) << "change " << i;
    EXPECT_TRUE(a != b) << "change " << i;
  }
}

TEST(Event, ByteSizeIsTheBinaryEncodedSize) {
  Event e = SampleEvent();
  EXPECT_EQ(e.ByteSize(), EncodeBinary(e).size());
  e.data.assign(100000, 'd');
  EXPECT_EQ(e.ByteSize(), EncodeBinary(e).size());
  EXPECT_EQ(Event().ByteSize(), EncodeBinary(Event()).size());
}

}  // namespace
}  // namespace eventmesh
