// Status codes, the thread's last error, versions and the log sink.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "eventmesh/log.h"
#include "eventmesh/version.h"
#include "internal.h"

using eventmesh::StatusCode;

// The C codes are the C++ codes; this keeps them one to one.
static_assert(EM_OK == static_cast<int>(StatusCode::kOk));
static_assert(EM_EINVAL == static_cast<int>(StatusCode::kInvalidArgument));
static_assert(EM_ENOTFOUND == static_cast<int>(StatusCode::kNotFound));
static_assert(EM_EEXISTS == static_cast<int>(StatusCode::kAlreadyExists));
static_assert(EM_EPERM == static_cast<int>(StatusCode::kPermissionDenied));
static_assert(EM_EUNAUTHENTICATED ==
              static_cast<int>(StatusCode::kUnauthenticated));
static_assert(EM_EEXHAUSTED ==
              static_cast<int>(StatusCode::kResourceExhausted));
static_assert(EM_EFAILED_PRECONDITION ==
              static_cast<int>(StatusCode::kFailedPrecondition));
static_assert(EM_ETIMEDOUT == static_cast<int>(StatusCode::kTimeout));
static_assert(EM_EUNAVAILABLE == static_cast<int>(StatusCode::kUnavailable));
static_assert(EM_ECLOSED == static_cast<int>(StatusCode::kClosed));
static_assert(EM_EDATALOSS == static_cast<int>(StatusCode::kDataLoss));
static_assert(EM_EUNIMPLEMENTED ==
              static_cast<int>(StatusCode::kUnimplemented));
static_assert(EM_EINTERNAL == static_cast<int>(StatusCode::kInternal));
static_assert(EM_ECODE_COUNT == eventmesh::kStatusCodeCount);

static_assert(EVENTMESH_VERSION_NUMBER == EVENTMESH_VERSION_MAJOR * 10000 +
                                              EVENTMESH_VERSION_MINOR * 100 +
                                              EVENTMESH_VERSION_PATCH);

static_assert(EM_LOG_TRACE == static_cast<int>(eventmesh::LogLevel::kTrace));
static_assert(EM_LOG_OFF == static_cast<int>(eventmesh::LogLevel::kOff));

namespace eventmesh::capi {
namespace {
thread_local std::string t_last_error;
}  // namespace

int Fail(const Status& status) {
  t_last_error = status.ToString();
  return static_cast<int>(status.code());
}

int FailInvalid(std::string message) {
  return Fail(InvalidArgument(std::move(message)));
}

int Check(const Status& status) { return status.ok() ? EM_OK : Fail(status); }

}  // namespace eventmesh::capi

using eventmesh::capi::Fail;

extern "C" {

const char* em_version(void) { return eventmesh::Version(); }

int em_version_number(void) {
  int major = 0, minor = 0, patch = 0;
  std::sscanf(eventmesh::Version(), "%d.%d.%d", &major, &minor, &patch);
  return major * 10000 + minor * 100 + patch;
}

int em_check_version(int header_major, int header_minor) {
  int lib = em_version_number();
  int major = lib / 10000, minor = lib / 100 % 100;
  bool ok = header_major == major &&
            (major == 0 ? header_minor == minor : header_minor <= minor);
  if (ok) return EM_OK;
  return Fail(eventmesh::FailedPrecondition(
      "compiled against eventmesh.h " + std::to_string(header_major) + "." +
      std::to_string(header_minor) + " but running with libeventmesh_c " +
      em_version() + "; rebuild against the installed version"));
}

const char* em_strerror(int code) {
  if (code < 0 || code >= EM_ECODE_COUNT) return "unknown code";
  // The names are string literals, so data() is NUL-terminated.
  return eventmesh::StatusCodeName(static_cast<StatusCode>(code)).data();
}

const char* em_last_error(void) {
  return eventmesh::capi::t_last_error.c_str();
}

void em_free(void* p) { std::free(p); }

int em_set_log_sink(em_log_fn fn, int min_level, void* user) {
  if (min_level < EM_LOG_TRACE || min_level > EM_LOG_OFF) {
    return eventmesh::capi::FailInvalid(
        "log level " + std::to_string(min_level) +
        " is not one of EM_LOG_TRACE..EM_LOG_OFF");
  }
  if (fn == nullptr) {
    eventmesh::SetLogSink(nullptr);
    return EM_OK;
  }
  eventmesh::SetLogSink(
      [fn, user](eventmesh::LogLevel level, std::string_view module,
                 std::string_view message) {
        std::string m(module), text(message);
        fn(static_cast<int>(level), m.c_str(), text.c_str(), user);
      },
      static_cast<eventmesh::LogLevel>(min_level));
  return EM_OK;
}

}  // extern "C"
