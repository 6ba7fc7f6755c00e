// Clocks used across EventMesh. Thread-safe.

#ifndef EVENTMESH_CLOCK_H_
#define EVENTMESH_CLOCK_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace eventmesh {

// Nanoseconds from an arbitrary fixed point; never goes backwards.
int64_t MonotonicNanos();

// Nanoseconds since the Unix epoch, from the system clock.
int64_t WallNanos();

// RFC 3339 text for a wall time, e.g. "2026-12-03T13:45:00.123456789Z".
std::string FormatRfc3339(int64_t unix_nanos);

// Parses RFC 3339 (any offset, optional fraction) into Unix nanoseconds.
// Returns false when `text` is not a valid RFC 3339 timestamp.
bool ParseRfc3339(std::string_view text, int64_t* unix_nanos);

}  // namespace eventmesh

#endif  // EVENTMESH_CLOCK_H_
