#include "hcmsn/util/check.h"

namespace hcmsn::detail {

void throw_internal(const char* file, int line, const char* cond, const std::string& msg) {
  throw InternalError(concat("internal error (please report): ", file, ":", line, ": ", cond,
                             msg.empty() ? "" : ": ", msg));
}

}  // namespace hcmsn::detail
