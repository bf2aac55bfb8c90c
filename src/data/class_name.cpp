#include "hcmsn/data/class_name.h"

#include <algorithm>
#include <set>

#include "hcmsn/util/check.h"

namespace hcmsn::data {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_separator(char c) {
  return c == ' ' || c == '_' || c == '-';
}

}  // namespace

std::string class_key(std::string_view name) {
  size_t begin = 0, end = name.size();
  while (begin < end && is_space(name[begin])) ++begin;
  while (end > begin && is_space(name[end - 1])) --end;
  HCMSN_CHECK(begin < end, "empty class name; every class needs a name (check the list or folder)");
  std::string key;
  key.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    const char c = name[i];
    if (is_separator(c)) {
      if (i == begin || !is_separator(name[i - 1])) key.push_back('_');  // one per run
    } else {
      key.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
  }
  return key;
}

std::string twin_key(std::string_view name) {
  const std::string plain = class_key(name);
  // A leading article "the_" goes with its separator; the rest loses separators and qualifiers.
  const size_t begin = plain.rfind("the_", 0) == 0 && plain.size() > 4 ? 4 : 0;
  std::string key;
  int depth = 0;  // inside parentheses
  for (size_t i = begin; i < plain.size(); ++i) {
    const char c = plain[i];
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      depth = std::max(0, depth - 1);
    } else if (depth == 0 && c != '_') {
      key.push_back(c);
    }
  }
  // A name that is only a qualifier, "(animal)", keeps its own key.
  return key.empty() ? plain : key;
}

std::vector<std::string> without_twins_of(const std::vector<std::string>& names,
                                          const std::vector<std::string>& held_out,
                                          std::vector<std::string>* left_out) {
  std::set<std::string> keys;
  for (const auto& name : held_out) keys.insert(twin_key(name));
  std::vector<std::string> kept;
  for (const auto& name : names) {
    if (keys.count(twin_key(name)) == 0) {
      kept.push_back(name);
    } else if (left_out != nullptr) {
      left_out->push_back(name);
    }
  }
  return kept;
}

}  // namespace hcmsn::data
