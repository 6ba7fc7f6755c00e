// Helpers shared by the store engines.

#include "store/store_common.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace eventmesh::store_internal {
namespace {

// The LMDB engine stores each record's dedup hash and rebuilds its dedup
// table from them at open, so the values must never change. These were
// computed by the first implementation.
TEST(DedupHash, ValuesAreStableAcrossVersions) {
  struct Case {
    const char* source;
    const char* id;
    uint64_t hash;
  };
  const Case cases[] = {
      {"", "", 0xdde4151c0af0ed70ull},
      {"/bench", "1099511627776", 0x1937fd860a442973ull},
      {"https://example.com/a/long/source", "0123456789abcdef-XYZ",
       0x766bbf99d3eb87d6ull},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DedupHash(c.source, c.id), c.hash) << c.source << " " << c.id;
  }
}

TEST(DedupHash, SeparatesSourceFromId) {
  EXPECT_NE(DedupHash("a", "bc"), DedupHash("ab", "c"));
  EXPECT_NE(DedupHash("", "x"), DedupHash("x", ""));
}

}  // namespace
}  // namespace eventmesh::store_internal
