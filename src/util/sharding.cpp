#include "hcmsn/util/sharding.h"

#include "hcmsn/util/check.h"

namespace hcmsn::util {

void Sharding::check() const {
  HCMSN_CHECK(ranks >= 1 && rank >= 0 && rank < ranks, "rank ", rank, " of ", ranks,
              " does not exist");
  HCMSN_CHECK(ranks == 1 || static_cast<bool>(sum),
              "work sharded over several ranks needs their sum (an all-reduce)");
}

}  // namespace hcmsn::util
