// The library's version, at compile time and at run time.

#ifndef EVENTMESH_VERSION_H_
#define EVENTMESH_VERSION_H_

#define EVENTMESH_VERSION_MAJOR 0
#define EVENTMESH_VERSION_MINOR 1
#define EVENTMESH_VERSION_PATCH 0
#define EVENTMESH_VERSION_STRING "0.1.0"

namespace eventmesh {

// The version of the library linked at run time, e.g. "0.1.0".
const char* Version();

}  // namespace eventmesh

#endif  // EVENTMESH_VERSION_H_
