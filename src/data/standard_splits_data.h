// Private: the generated tables behind standard_splits.h (src/data/standard_splits_data.cpp,
// written by scripts/make_standard_splits.py).
#pragma once

#include <cstddef>
#include <vector>

namespace hcmsn::data::detail {

struct RawClass {
  const char* name;         // original spelling, as in the cname_cid map
  const char* ndjson_word;  // QuickDraw ndjson file word, "" when none
};

struct RawSplit {
  const char* name;
  const char* dataset;
  const char* source;
  const RawClass* seen;
  size_t num_seen;
  const RawClass* unseen;
  size_t num_unseen;
};

const std::vector<RawSplit>& raw_standard_splits();

}  // namespace hcmsn::data::detail
