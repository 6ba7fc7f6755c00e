// Shared by the C API's translation units: the handle structs and the
// helpers that turn a Status into a code plus the thread's last error.

#ifndef EVENTMESH_CAPI_SRC_INTERNAL_H_
#define EVENTMESH_CAPI_SRC_INTERNAL_H_

#include <memory>
#include <string>

#include "eventmesh.h"
#include "eventmesh/event.h"
#include "eventmesh/mesh.h"
#include "eventmesh/status.h"

// An event handle owns its Event; a delivered event is a read-only view of
// the mesh's shared copy, kept alive by `shared`.
struct em_event {
  eventmesh::Event owned;
  eventmesh::EventPtr shared;

  const eventmesh::Event& get() const { return shared ? *shared : owned; }
};

// The Mesh is shared with every subscription handle, so that closing the
// mesh first does not destroy it under a subscription still to be closed.
struct em_mesh {
  std::shared_ptr<eventmesh::Mesh> mesh;
};

struct em_delivery {
  eventmesh::Delivery delivery;
  em_event event;
};

namespace eventmesh::capi {

// Records `status` as the thread's last error and returns its code.
int Fail(const Status& status);
// Shorthand for Fail(InvalidArgument(message)).
int FailInvalid(std::string message);
// EM_OK for an OK status, otherwise Fail(status).
int Check(const Status& status);

// A std::string for an optional C string (NULL gives "").
inline std::string Str(const char* s) { return s ? std::string(s) : ""; }

}  // namespace eventmesh::capi

#endif  // EVENTMESH_CAPI_SRC_INTERNAL_H_
