// Error values and Result<T>: how every fallible witness function reports failure.
// The API is a subset of C++23 std::expected, so a later switch is a rename.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace witness {

// What kind of failure an Error is; callers branch on this, humans read the message.
enum class ErrorCode {
  kNotFound,
  kInvalidArgument,
  kFailedPrecondition,
  kCorruption,
  kIOError,
  kInternal,
  kUnavailable,  // in use by someone else (a ledger another process writes): retry later
};

// Returns the enumerator's name without the `k`, e.g. "InvalidArgument".
[[nodiscard]] constexpr std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound:
      return "NotFound";
    case ErrorCode::kInvalidArgument:
      return "InvalidArgument";
    case ErrorCode::kFailedPrecondition:
      return "FailedPrecondition";
    case ErrorCode::kCorruption:
      return "Corruption";
    case ErrorCode::kIOError:
      return "IOError";
    case ErrorCode::kInternal:
      return "Internal";
    case ErrorCode::kUnavailable:
      return "Unavailable";
  }
  return "Unknown";
}

// A failure: a code and a lower-case message that names the offending value.
// Thread safety: a plain value; const methods may be called concurrently.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Returns a copy whose message is `context: message`, for adding context on the way up.
  [[nodiscard]] Error with_context(std::string_view context) const {
    return Error{code, std::string(context) + ": " + message};
  }
};

[[nodiscard]] inline Error not_found(std::string message) {
  return Error{ErrorCode::kNotFound, std::move(message)};
}
[[nodiscard]] inline Error invalid_argument(std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(message)};
}
[[nodiscard]] inline Error failed_precondition(std::string message) {
  return Error{ErrorCode::kFailedPrecondition, std::move(message)};
}
[[nodiscard]] inline Error corruption(std::string message) {
  return Error{ErrorCode::kCorruption, std::move(message)};
}
[[nodiscard]] inline Error io_error(std::string message) {
  return Error{ErrorCode::kIOError, std::move(message)};
}
[[nodiscard]] inline Error internal_error(std::string message) {
  return Error{ErrorCode::kInternal, std::move(message)};
}
[[nodiscard]] inline Error unavailable(std::string message) {
  return Error{ErrorCode::kUnavailable, std::move(message)};
}

namespace detail {
[[noreturn]] inline void bad_result_access(const char* what) {
  std::fprintf(stderr, "witness: %s\n", what);  // NOLINT(cppcoreguidelines-pro-type-vararg)
  std::abort();
}
}  // namespace detail

// Either a T or an Error. Accessing the value of an error result is a bug and aborts.
// Thread safety: a plain value; const methods may be called concurrently.
template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  // NOLINTBEGIN(google-explicit-constructor,hicpp-explicit-conversions,bugprone-forwarding-reference-overload):
  // implicit by design, as with std::expected, so `return value;` and `return error;` both
  // work; the forwarding constructor's requires-clause excludes Result itself, which
  // clang-tidy 16 does not read.
  Result(const T& value) : state_(std::in_place_index<0>, value) {}
  Result(T&& value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, T> &&
           !std::is_same_v<std::remove_cvref_t<U>, Error> &&
           !std::is_same_v<std::remove_cvref_t<U>, Result>) Result(U&& value)
      : state_(std::in_place_index<0>, T(std::forward<U>(value))) {}
  // NOLINTEND(google-explicit-constructor,hicpp-explicit-conversions,bugprone-forwarding-reference-overload)

  [[nodiscard]] bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  [[nodiscard]] T& value() & {
    check_value();
    return std::get<0>(state_);
  }
  [[nodiscard]] const T& value() const& {
    check_value();
    return std::get<0>(state_);
  }
  // On an rvalue Result the value is moved out and returned by value, not as T&&: a reference
  // into a temporary Result would dangle once the full expression ends, as in
  // `for (const Entry& e : *ledger.query(q))`, where the range would outlive the Result.
  [[nodiscard]] T value() && {
    check_value();
    return std::get<0>(std::move(state_));
  }
  [[nodiscard]] T& operator*() & { return value(); }
  [[nodiscard]] const T& operator*() const& { return value(); }
  [[nodiscard]] T operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  [[nodiscard]] const Error& error() const& {
    if (has_value()) detail::bad_result_access("error() called on a Result holding a value");
    return std::get<1>(state_);
  }
  [[nodiscard]] Error&& error() && {
    if (has_value()) detail::bad_result_access("error() called on a Result holding a value");
    return std::get<1>(std::move(state_));
  }

 private:
  void check_value() const {
    if (!has_value()) {
      const auto& e = std::get<1>(state_);
      std::fprintf(stderr, "witness: value() on error result: %s\n",  // NOLINT
                   e.message.c_str());
      std::abort();
    }
  }
  std::variant<T, Error> state_;
};

// Success, or an Error: Result for functions that return no value. Make a success with
// ok_status() and ask with ok(), as abseil and leveldb do. (ok() was once a static factory, so
// `if (!s.ok())` compiled, built a fresh success and never fired.)
// Thread safety: a plain value; const methods may be called concurrently.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  // True for a success.
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  [[nodiscard]] const Error& error() const& {
    if (ok_) detail::bad_result_access("error() called on an ok Status");
    return error_;
  }
  [[nodiscard]] Error&& error() && {
    if (ok_) detail::bad_result_access("error() called on an ok Status");
    return std::move(error_);
  }

 private:
  Error error_;
  bool ok_ = true;
};

// A success.
[[nodiscard]] inline Status ok_status() { return {}; }

namespace detail {
// Lets WITNESS_RETURN_IF_ERROR take a Status or any Result<T>.
inline Status to_status(const Status& s) { return s; }
template <typename T>
Status to_status(const Result<T>& r) {
  if (r) return ok_status();
  return r.error();
}
}  // namespace detail

}  // namespace witness

namespace witness::detail {
// WITNESS_CHECK's failure: prints where and what, then aborts.
[[noreturn]] inline void check_failed(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "witness: check failed at %s:%d: %s\n", file,
               line,  // NOLINT(cppcoreguidelines-pro-type-vararg)
               condition);
  std::abort();
}
}  // namespace witness::detail

// NOLINTBEGIN(cppcoreguidelines-macro-usage): the three macros STYLE 4 allows.
#define WITNESS_CONCAT_IMPL(a, b) a##b
#define WITNESS_CONCAT(a, b) WITNESS_CONCAT_IMPL(a, b)

// Returns the error of `expr` (a Status or Result) from the enclosing function, if any.
#define WITNESS_RETURN_IF_ERROR(expr)                                                \
  do {                                                                               \
    if (auto witness_status_ = ::witness::detail::to_status(expr); !witness_status_) \
      return std::move(witness_status_).error();                                     \
  } while (false)

// Evaluates `rexpr` (a Result<T>); on error returns it, else moves the value into `lhs`.
// (`lhs` may be a declaration, `auto x`, so it cannot be parenthesised.)
// NOLINTBEGIN(bugprone-macro-parentheses)
#define WITNESS_ASSIGN_OR_RETURN(lhs, rexpr)                             \
  auto WITNESS_CONCAT(witness_result_, __LINE__) = (rexpr);              \
  if (!WITNESS_CONCAT(witness_result_, __LINE__))                        \
    return std::move(WITNESS_CONCAT(witness_result_, __LINE__)).error(); \
  lhs = std::move(WITNESS_CONCAT(witness_result_, __LINE__)).value()
// NOLINTEND(bugprone-macro-parentheses)

// Aborts with a message when `cond` is false: for bugs (broken invariants), never for input.
#define WITNESS_CHECK(cond)                                                  \
  do {                                                                       \
    if (!(cond)) ::witness::detail::check_failed(__FILE__, __LINE__, #cond); \
  } while (false)
// NOLINTEND(cppcoreguidelines-macro-usage)
