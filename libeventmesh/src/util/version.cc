#include "eventmesh/version.h"

namespace eventmesh {

const char* Version() { return EVENTMESH_VERSION_STRING; }

}  // namespace eventmesh
