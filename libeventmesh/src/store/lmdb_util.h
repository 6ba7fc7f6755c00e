// Small helpers around the LMDB C API: value conversion and the one place
// where LMDB and errno codes become Status. Only the store's LMDB engine
// includes this header (and so lmdb.h).

#ifndef EVENTMESH_SRC_STORE_LMDB_UTIL_H_
#define EVENTMESH_SRC_STORE_LMDB_UTIL_H_

#include <lmdb.h>

#include <string_view>

#include "eventmesh/status.h"

namespace eventmesh::store_internal {

inline MDB_val ToVal(std::string_view bytes) {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

inline std::string_view ToView(const MDB_val& val) {
  return std::string_view(static_cast<const char*>(val.mv_data), val.mv_size);
}

// Translates an LMDB return code (or an errno value LMDB passed on) into a
// Status whose message starts with `what` (e.g. "append to /var/data").
Status LmdbStatus(int rc, std::string_view what);

}  // namespace eventmesh::store_internal

#endif  // EVENTMESH_SRC_STORE_LMDB_UTIL_H_
