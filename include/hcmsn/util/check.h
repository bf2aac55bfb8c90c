// Error channels (one for callers, one for ourselves), as in faiss/impl/FaissAssert.h.
//
//   HCMSN_CHECK(cond, msg...)   caller or I/O error: throws hcmsn::Error whose message says what
//                               was wrong and what to do. Stays on in release builds.
//   HCMSN_ASSERT(cond, msg...)  broken internal invariant (a bug in hcmsn): throws
//                               hcmsn::InternalError with file and line. The message is required.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace hcmsn {

/// A problem with the caller's input, files or options. `what()` is meant for end users.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A broken invariant inside hcmsn; always a bug worth reporting.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
[[noreturn]] void throw_internal(const char* file, int line, const char* cond,
                                 const std::string& msg);
}  // namespace detail

}  // namespace hcmsn

#define HCMSN_CHECK(cond, ...)                                               \
  do {                                                                       \
    if (!(cond)) throw ::hcmsn::Error(::hcmsn::detail::concat(__VA_ARGS__)); \
  } while (false)

#define HCMSN_ASSERT(cond, ...)                                              \
  do {                                                                       \
    if (!(cond))                                                             \
      ::hcmsn::detail::throw_internal(__FILE__, __LINE__, #cond,             \
                                      ::hcmsn::detail::concat(__VA_ARGS__)); \
  } while (false)
