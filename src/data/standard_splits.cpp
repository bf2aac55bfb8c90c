#include "hcmsn/data/standard_splits.h"

#include <algorithm>

#include "hcmsn/util/check.h"
#include "standard_splits_data.h"

namespace hcmsn::data {
namespace {

std::vector<StandardClass> to_classes(const detail::RawClass* raw, size_t n) {
  std::vector<StandardClass> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back({raw[i].name, raw[i].ndjson_word});
  return out;
}

std::vector<std::string> names_of(const std::vector<StandardClass>& classes) {
  std::vector<std::string> out;
  out.reserve(classes.size());
  for (const auto& c : classes) out.push_back(c.name);
  return out;
}

const std::vector<StandardSplit>& all_splits() {
  static const std::vector<StandardSplit> splits = [] {
    std::vector<StandardSplit> out;
    for (const auto& raw : detail::raw_standard_splits()) {
      out.push_back({raw.name, raw.dataset, raw.source, to_classes(raw.seen, raw.num_seen),
                     to_classes(raw.unseen, raw.num_unseen)});
    }
    return out;
  }();
  return splits;
}

}  // namespace

std::vector<std::string> StandardSplit::seen_names() const {
  return names_of(seen);
}
std::vector<std::string> StandardSplit::unseen_names() const {
  return names_of(unseen);
}

const std::vector<std::string>& standard_split_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& s : all_splits()) out.push_back(s.name);
    return out;
  }();
  return names;
}

const StandardSplit& standard_split(const std::string& name) {
  const auto& splits = all_splits();
  const auto it = std::find_if(splits.begin(), splits.end(),
                               [&](const StandardSplit& s) { return s.name == name; });
  std::string valid;
  for (const auto& n : standard_split_names()) valid += (valid.empty() ? "" : ", ") + n;
  HCMSN_CHECK(it != splits.end(), "unknown split '", name, "'; the standard splits are ", valid);
  return *it;
}

}  // namespace hcmsn::data
