// FUZZ_CHECK(condition, "what broke"): stops the fuzz target with a
// message when a property of the code under test does not hold, so that
// libFuzzer (or the replay driver) reports the input as a crash.

#ifndef EVENTMESH_TESTS_FUZZ_FUZZ_CHECK_H_
#define EVENTMESH_TESTS_FUZZ_FUZZ_CHECK_H_

#include "eventmesh/status.h"

#define FUZZ_CHECK(condition, what)                                  \
  do {                                                               \
    if (!(condition)) {                                              \
      ::eventmesh::Fatal(std::string("fuzz check failed: ") + what + \
                         " (" #condition ")");                       \
    }                                                                \
  } while (0)

#endif  // EVENTMESH_TESTS_FUZZ_FUZZ_CHECK_H_
