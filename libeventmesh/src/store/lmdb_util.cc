#include "store/lmdb_util.h"

#include <cerrno>
#include <string>

namespace eventmesh::store_internal {

Status LmdbStatus(int rc, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += mdb_strerror(rc);
  switch (rc) {
    case MDB_SUCCESS:
      return Status();
    case MDB_MAP_FULL:
      return ResourceExhausted(
          message +
          " (the map reached StoreOptions::max_map_bytes; raise it, or let "
          "retention or DeleteTopic free space)");
    case ENOSPC:
    case EDQUOT:
      return ResourceExhausted(message +
                               " (free disk space, then retry the append)");
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case MDB_DBS_FULL:
    case ENOMEM:
      return ResourceExhausted(message);
    case MDB_NOTFOUND:
    case ENOENT:
      return NotFound(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDenied(message);
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INCOMPATIBLE:
      return DataLoss(message);
    case MDB_BAD_VALSIZE:
      return InvalidArgument(message);
    case MDB_PANIC:
      return Internal(message +
                      " (the environment failed fatally; close and reopen "
                      "the store)");
    default:
      return Internal(message);
  }
}

}  // namespace eventmesh::store_internal
