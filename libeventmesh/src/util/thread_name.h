// Names the calling thread, so that top -H, perf and gdb tell EventMesh's
// threads apart. Linux keeps at most 15 characters; longer names are cut.

#ifndef EVENTMESH_SRC_UTIL_THREAD_NAME_H_
#define EVENTMESH_SRC_UTIL_THREAD_NAME_H_

#include <pthread.h>

#include <string>

namespace eventmesh {

inline void NameThisThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_UTIL_THREAD_NAME_H_
