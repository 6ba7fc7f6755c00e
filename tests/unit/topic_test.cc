#include "eventmesh/topic.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace eventmesh {
namespace {

// The message of a refused name; fails the test when the name was accepted
// or refused with another code.
std::string TopicError(std::string_view topic) {
  Status s = ValidateTopic(topic);
  EXPECT_FALSE(s.ok()) << "accepted topic '" << topic << "'";
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  return s.message();
}

std::string PatternError(std::string_view pattern) {
  Status s = ValidatePattern(pattern);
  EXPECT_FALSE(s.ok()) << "accepted pattern '" << pattern << "'";
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  return s.message();
}

// "a.b.c..." with `tokens` one-letter tokens.
std::string TopicOfTokens(size_t tokens) {
  std::string topic = "a";
  for (size_t i = 1; i < tokens; ++i) topic += ".a";
  return topic;
}

TEST(ValidateTopic, AcceptsTokensOfEveryAllowedCharacter) {
  for (std::string_view topic :
       {"orders", "orders.created", "Orders.EU-west_1.v2:beta", "a.b.c.d",
        "0.9", "_", "-", ":", "a-b_c:d"}) {
    EXPECT_TRUE(ValidateTopic(topic).ok()) << ValidateTopic(topic).ToString();
  }
}

TEST(ValidateTopic, AcceptsTheMeshsOwnNames) {
  for (std::string_view topic :
       {"$SYS", "$SYS.node.up", "$DLQ.workers.orders.created",
        "$INBOX.3f2a.reply", "$custom_1"}) {
    EXPECT_TRUE(ValidateTopic(topic).ok()) << ValidateTopic(topic).ToString();
  }
}

TEST(ValidateTopic, RefusesAnEmptyName) {
  EXPECT_EQ(TopicError(""),
            "topic is empty; give at least one token, e.g. 'orders.created'");
}

TEST(ValidateTopic, RefusesEmptyTokensAndSaysWhere) {
  EXPECT_EQ(TopicError("a..b"),
            "topic 'a..b' has an empty token at position 2");
  EXPECT_EQ(TopicError(".a"), "topic '.a' has an empty token at position 1");
  EXPECT_EQ(TopicError("a.b."),
            "topic 'a.b.' has an empty token at position 3");
  EXPECT_EQ(TopicError("."), "topic '.' has an empty token at position 1");
}

TEST(ValidateTopic, RefusesCharactersOutsideTheTokenSet) {
  EXPECT_EQ(TopicError("x.a b"),
            "topic 'x.a b': token 'a b' contains ' ', which is not a letter, "
            "digit, '_', '-' or ':'");
  EXPECT_EQ(TopicError("a/b"),
            "topic 'a/b': token 'a/b' contains '/', which is not a letter, "
            "digit, '_', '-' or ':'");
  // Non-ASCII and control bytes are shown escaped.
  EXPECT_EQ(TopicError("caf\xc3\xa9"),
            "topic 'caf\\xc3\\xa9': token 'caf\\xc3\\xa9' contains '\\xc3', "
            "which is not a letter, digit, '_', '-' or ':'");
  EXPECT_EQ(TopicError(std::string("a\0b", 3)),
            "topic 'a\\x00b': token 'a\\x00b' contains '\\x00', which is not "
            "a letter, digit, '_', '-' or ':'");
}

TEST(ValidateTopic, RefusesWildcards) {
  EXPECT_EQ(TopicError("orders.*"),
            "topic 'orders.*' has the wildcard '*' at position 2; wildcards "
            "are allowed only in subscription patterns, a topic to publish "
            "to names one topic");
  EXPECT_EQ(TopicError(">"),
            "topic '>' has the wildcard '>' at position 1; wildcards are "
            "allowed only in subscription patterns, a topic to publish to "
            "names one topic");
  EXPECT_EQ(TopicError("a.b*"),
            "topic 'a.b*': token 'b*' contains '*', which is not a letter, "
            "digit, '_', '-' or ':'; a wildcard must be a whole token");
}

TEST(ValidateTopic, AllowsDollarOnlyAtTheStartOfTheFirstToken) {
  EXPECT_EQ(TopicError("a.$SYS"),
            "topic 'a.$SYS': token '$SYS' contains '$', which is not a "
            "letter, digit, '_', '-' or ':'; '$' may only start the first "
            "token, as in '$SYS'");
  EXPECT_EQ(TopicError("$S$S"),
            "topic '$S$S': token '$S$S' contains '$', which is not a letter, "
            "digit, '_', '-' or ':'; '$' may only start the first token, as "
            "in '$SYS'");
  EXPECT_EQ(TopicError("$.a"),
            "topic '$.a' starts with the token '$', which needs a name after "
            "the '$' (names reserved to the mesh look like '$SYS')");
  EXPECT_EQ(TopicError("$ SYS"),
            "topic '$ SYS': token '$ SYS' contains ' ', which is not a "
            "letter, digit, '_', '-' or ':'");
}

TEST(ValidateTopic, AcceptsUpTo255BytesAndRefusesMore) {
  std::string longest = std::string(kMaxTopicBytes, 'x');
  EXPECT_TRUE(ValidateTopic(longest).ok());
  std::string too_long = longest + "x";
  EXPECT_EQ(TopicError(too_long),
            "topic '" + std::string(64, 'x') +
                "...' is 256 bytes long; at most 255 are allowed");
}

TEST(ValidateTopic, AcceptsUpTo32TokensAndRefusesMore) {
  EXPECT_TRUE(ValidateTopic(TopicOfTokens(kMaxTopicTokens)).ok());
  // Names in messages are cut after 64 bytes.
  std::string too_many = TopicOfTokens(kMaxTopicTokens + 1);
  ASSERT_EQ(too_many.size(), 65u);
  EXPECT_EQ(TopicError(too_many), "topic '" + too_many.substr(0, 64) +
                                      "...' has 33 tokens; at most 32 are "
                                      "allowed");
}

TEST(ValidateTopic, ChecksLengthBeforeTokens) {
  // A huge name is refused for its size without a per-token message.
  std::string huge(1 << 20, ' ');
  EXPECT_NE(TopicError(huge).find("is 1048576 bytes long"), std::string::npos);
}

TEST(ValidatePattern, AcceptsEveryValidTopic) {
  for (std::string_view name :
       {"orders", "orders.created", "a-b_c:d.E9", "$SYS.node.up"}) {
    EXPECT_TRUE(ValidatePattern(name).ok());
  }
}

TEST(ValidatePattern, AcceptsWildcardsAsWholeTokens) {
  for (std::string_view pattern :
       {"*", ">", "orders.*", "*.created", "orders.>", "*.*.>", "a.*.c.>",
        "$SYS.>", "$DLQ.*.>", "$INBOX.>"}) {
    EXPECT_TRUE(ValidatePattern(pattern).ok())
        << ValidatePattern(pattern).ToString();
  }
}

TEST(ValidatePattern, RefusesGreaterThanBeforeTheEnd) {
  EXPECT_EQ(PatternError("a.>.b"),
            "pattern 'a.>.b' has '>' at position 2, but '>' must be the last "
            "token");
  EXPECT_EQ(PatternError(">.>"),
            "pattern '>.>' has '>' at position 1, but '>' must be the last "
            "token");
}

TEST(ValidatePattern, RefusesWildcardsInsideTokens) {
  EXPECT_EQ(PatternError("orders.created*"),
            "pattern 'orders.created*': token 'created*' contains '*', which "
            "is not a letter, digit, '_', '-' or ':'; a wildcard must be a "
            "whole token");
  EXPECT_EQ(PatternError("a.>b"),
            "pattern 'a.>b': token '>b' contains '>', which is not a letter, "
            "digit, '_', '-' or ':'; a wildcard must be a whole token");
  EXPECT_EQ(PatternError("**"),
            "pattern '**': token '**' contains '*', which is not a letter, "
            "digit, '_', '-' or ':'; a wildcard must be a whole token");
}

TEST(ValidatePattern, AppliesTheTopicRules) {
  EXPECT_EQ(PatternError(""),
            "pattern is empty; give at least one token, e.g. "
            "'orders.created'");
  EXPECT_EQ(PatternError("a..*"),
            "pattern 'a..*' has an empty token at position 2");
  EXPECT_EQ(PatternError("a.*."),
            "pattern 'a.*.' has an empty token at position 3");
  EXPECT_EQ(PatternError("*.a b"),
            "pattern '*.a b': token 'a b' contains ' ', which is not a "
            "letter, digit, '_', '-' or ':'");
  EXPECT_EQ(PatternError("*.$SYS"),
            "pattern '*.$SYS': token '$SYS' contains '$', which is not a "
            "letter, digit, '_', '-' or ':'; '$' may only start the first "
            "token, as in '$SYS'");
  EXPECT_EQ(PatternError("$.>"),
            "pattern '$.>' starts with the token '$', which needs a name "
            "after the '$' (names reserved to the mesh look like '$SYS')");
  EXPECT_EQ(PatternError(std::string(256, '*')),
            "pattern '" + std::string(64, '*') +
                "...' is 256 bytes long; at most 255 are allowed");
  std::string many = "*";
  for (size_t i = 1; i <= kMaxTopicTokens; ++i) many += ".*";
  EXPECT_EQ(PatternError(many), "pattern '" + many.substr(0, 64) +
                                    "...' has 33 tokens; at most 32 are "
                                    "allowed");
}

// The naming rules written as plainly as possible, as an oracle for the
// validators (which take a fast path for ordinary topics).
bool PlainlyValid(std::string_view name, bool is_pattern) {
  if (name.empty() || name.size() > kMaxTopicBytes) return false;
  std::vector<std::string_view> tokens;
  size_t start = 0;
  for (size_t dot; (dot = name.find('.', start)) != name.npos;
       start = dot + 1) {
    tokens.push_back(name.substr(start, dot - start));
  }
  tokens.push_back(name.substr(start));
  if (tokens.size() > kMaxTopicTokens) return false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string_view token = tokens[i];
    if (token.empty()) return false;
    if (is_pattern && token == "*") continue;
    if (is_pattern && token == ">" && i + 1 == tokens.size()) continue;
    size_t first = 0;
    if (i == 0 && token[0] == '$') {
      if (token.size() == 1) return false;
      first = 1;
    }
    for (char c : token.substr(first)) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '-' || c == ':';
      if (!ok) return false;
    }
  }
  return true;
}

TEST(ValidateTopic, AgreesWithThePlainRulesOnRandomNames) {
  std::mt19937 rng(12345);
  const std::string alphabet = "aZ7_-:.*>$ \xc3";
  size_t accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    // Mostly short names; every 100th is near the length limit, every
    // 50th has about 32 tokens.
    size_t length = rng() % 13;
    if (i % 100 == 0) length = 250 + rng() % 10;
    std::string name;
    for (size_t j = 0; j < length; ++j) {
      name += alphabet[rng() % alphabet.size()];
    }
    if (i % 50 == 1) {
      name = "a";
      for (size_t j = 0, n = 30 + rng() % 4; j < n; ++j) name += ".b";
    }
    Status topic = ValidateTopic(name);
    Status pattern = ValidatePattern(name);
    ASSERT_EQ(topic.ok(), PlainlyValid(name, false)) << name;
    ASSERT_EQ(pattern.ok(), PlainlyValid(name, true)) << name;
    if (!topic.ok()) {
      ASSERT_EQ(topic.message().rfind("topic", 0), 0u) << topic.message();
    }
    if (!pattern.ok()) {
      ASSERT_EQ(pattern.message().rfind("pattern", 0), 0u) << pattern.message();
    }
    accepted += topic.ok();
  }
  EXPECT_GT(accepted, 1000u);  // the valid side is exercised too
}

TEST(PatternMatches, ExactPatternsMatchOnlyTheSameTopic) {
  EXPECT_TRUE(PatternMatches("orders.created", "orders.created"));
  EXPECT_FALSE(PatternMatches("orders.created", "orders.deleted"));
  EXPECT_FALSE(PatternMatches("orders.created", "orders"));
  EXPECT_FALSE(PatternMatches("orders", "orders.created"));
  EXPECT_FALSE(PatternMatches("orders.created", "orders.created.eu"));
  EXPECT_FALSE(PatternMatches("order", "orders"));
  EXPECT_FALSE(PatternMatches("orders", "order"));
}

TEST(PatternMatches, StarMatchesExactlyOneToken) {
  EXPECT_TRUE(PatternMatches("*", "orders"));
  EXPECT_FALSE(PatternMatches("*", "orders.created"));
  EXPECT_TRUE(PatternMatches("orders.*", "orders.created"));
  EXPECT_FALSE(PatternMatches("orders.*", "orders"));
  EXPECT_FALSE(PatternMatches("orders.*", "orders.created.eu"));
  EXPECT_TRUE(PatternMatches("*.created", "orders.created"));
  EXPECT_TRUE(PatternMatches("a.*.c", "a.b.c"));
  EXPECT_FALSE(PatternMatches("a.*.c", "a.b.d"));
  EXPECT_TRUE(PatternMatches("*.*.*", "a.b.c"));
  EXPECT_FALSE(PatternMatches("*.*.*", "a.b"));
}

TEST(PatternMatches, GreaterThanMatchesOneOrMoreTrailingTokens) {
  EXPECT_TRUE(PatternMatches(">", "a"));
  EXPECT_TRUE(PatternMatches(">", "a.b.c"));
  EXPECT_TRUE(PatternMatches("orders.>", "orders.created"));
  EXPECT_TRUE(PatternMatches("orders.>", "orders.created.eu.1"));
  EXPECT_FALSE(PatternMatches("orders.>", "orders"));
  EXPECT_FALSE(PatternMatches("orders.>", "payments.created"));
  EXPECT_TRUE(PatternMatches("*.>", "a.b"));
  EXPECT_FALSE(PatternMatches("*.>", "a"));
  EXPECT_TRUE(PatternMatches("a.*.>", "a.b.c.d"));
  EXPECT_FALSE(PatternMatches("a.*.>", "a.b"));
}

TEST(PatternMatches, SystemNamesAreMatchedLikeOthers) {
  EXPECT_TRUE(PatternMatches("$SYS.>", "$SYS.node.up"));
  EXPECT_FALSE(PatternMatches("$SYS.>", "SYS.node.up"));
  EXPECT_TRUE(PatternMatches("$DLQ.*.>", "$DLQ.workers.orders.created"));
  // Wildcards do not single out '$' names; the mesh decides who sees them.
  EXPECT_TRUE(PatternMatches(">", "$SYS.node.up"));
  EXPECT_TRUE(PatternMatches("*.node.up", "$SYS.node.up"));
}

TEST(PatternMatches, ComparesWholeTokensOnly) {
  EXPECT_FALSE(PatternMatches("a.b", "a.bc"));
  EXPECT_FALSE(PatternMatches("a.bc", "a.b"));
  EXPECT_FALSE(PatternMatches("ab.c", "a.bc"));
  EXPECT_TRUE(PatternMatches("A.b", "A.b"));
  EXPECT_FALSE(PatternMatches("A.b", "a.b"));
}

}  // namespace
}  // namespace eventmesh
