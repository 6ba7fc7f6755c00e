// Status and Result<T>: how every EventMesh call reports failure.
//
// A Status is either OK or carries a code from a closed list and a message
// that says what was wrong and, where it helps, what to do. The codes map
// one to one onto the C API's EM_E* constants; do not renumber them.
// Result<T> holds either a T or a non-OK Status.
//
// Both are plain values: copyable, movable, safe to pass between threads.
// Exceptions never cross the public API.

#ifndef EVENTMESH_STATUS_H_
#define EVENTMESH_STATUS_H_

#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace eventmesh {

// Stable numbers: they are the C API's codes (EM_OK, EM_EINVAL, ...).
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,     // the caller passed something malformed
  kNotFound = 2,            // no such topic, group, subscription, ...
  kAlreadyExists = 3,       // the name is taken
  kPermissionDenied = 4,    // authenticated, but not allowed
  kUnauthenticated = 5,     // credentials missing or wrong
  kResourceExhausted = 6,   // a limit, a full queue, a full disk or map
  kFailedPrecondition = 7,  // the object is not in a state for this call
  kTimeout = 8,             // the deadline passed before an answer
  kUnavailable = 9,         // the peer or server cannot be reached now
  kClosed = 10,             // the mesh or subscription is closed
  kDataLoss = 11,           // stored data is corrupt or of a foreign format
  kUnimplemented = 12,      // not supported by this transport or engine
  kInternal = 13,           // a bug: please report it
};

// The number of codes; the C API checks it matches its own list.
inline constexpr int kStatusCodeCount = 14;

// A short lower-case name for the code ("invalid argument").
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // OK.
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid argument: topic 'a..b' has an empty token", or "ok".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(std::string_view context) const;

  // Marks a Status as deliberately ignored.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Shorthands for the common codes.
Status InvalidArgument(std::string message);
Status NotFound(std::string message);
Status AlreadyExists(std::string message);
Status PermissionDenied(std::string message);
Status Unauthenticated(std::string message);
Status ResourceExhausted(std::string message);
Status FailedPrecondition(std::string message);
Status Timeout(std::string message);
Status Unavailable(std::string message);
Status Closed(std::string message);
Status DataLoss(std::string message);
Status Unimplemented(std::string message);
Status Internal(std::string message);

// Stops the process with `message` on stderr. Used for broken invariants,
// in every build type.
[[noreturn]] void Fatal(std::string_view message);

template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<T, Status>, "Result<Status> makes no sense");

 public:
  // A Result holding a value.
  Result(const T& value) : has_value_(true) { new (&value_) T(value); }
  Result(T&& value) : has_value_(true) { new (&value_) T(std::move(value)); }
  // A Result holding an error; `status` must not be OK.
  Result(Status status) : status_(std::move(status)) {
    if (status_.ok()) Fatal("Result constructed from an OK Status");
  }

  Result(const Result& other) : status_(other.status_) {
    if (other.has_value_) Emplace(other.value_);
  }
  Result(Result&& other) noexcept : status_(std::move(other.status_)) {
    if (other.has_value_) Emplace(std::move(other.value_));
  }
  Result& operator=(Result other) noexcept {
    Reset();
    status_ = std::move(other.status_);
    if (other.has_value_) Emplace(std::move(other.value_));
    return *this;
  }
  ~Result() { Reset(); }

  bool ok() const { return has_value_; }
  // OK when a value is held.
  const Status& status() const { return status_; }

  // The value; calling these on an error stops the process.
  T& value() & { return CheckedValue(); }
  const T& value() const& { return const_cast<Result*>(this)->CheckedValue(); }
  T&& value() && { return std::move(CheckedValue()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The value, or `fallback` when this holds an error.
  T value_or(T fallback) const& { return ok() ? value_ : fallback; }

 private:
  template <typename U>
  void Emplace(U&& v) {
    new (&value_) T(std::forward<U>(v));
    has_value_ = true;
  }
  void Reset() {
    if (has_value_) value_.~T();
    has_value_ = false;
  }
  T& CheckedValue() {
    if (!has_value_) Fatal("value() on an error Result: " + status_.ToString());
    return value_;
  }

  Status status_;
  bool has_value_ = false;
  union {
    T value_;
  };
};

}  // namespace eventmesh

// Returns from the current function when `expr` (a Status) is not OK.
#define EM_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::eventmesh::Status em_status_ = (expr); \
    if (!em_status_.ok()) return em_status_; \
  } while (0)

#define EM_CONCAT_INNER_(a, b) a##b
#define EM_CONCAT_(a, b) EM_CONCAT_INNER_(a, b)

// `EM_ASSIGN_OR_RETURN(auto x, Foo());` declares x from a Result's value or
// returns its error from the current function.
#define EM_ASSIGN_OR_RETURN(lhs, expr) \
  EM_ASSIGN_OR_RETURN_IMPL_(EM_CONCAT_(em_result_, __LINE__), lhs, expr)
#define EM_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#endif  // EVENTMESH_STATUS_H_
